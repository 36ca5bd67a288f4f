import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArtifactStore, UserError, readArrowFile, resolveStoreRoot, tableToRows } from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { readLockFile } from '../lockfile.js';
import { lockPathOf } from './locks.js';
import { printJson } from './output.js';
import { help } from './pipeline.js';

export const reportHelp = `lenna report <pipeline.yaml> [--json]

Prints the report table of the pipeline's last run (the output of its 'report' stage) and where the
table, plots and report.html are. Runs nothing: use lenna run first.

Example: lenna report pipelines/quickstart.yaml`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('report', argv, { json: { type: 'boolean' } });
  if (values.help) return help(reportHelp);
  const pipeline = requirePositional('report', positionals, 'the pipeline');
  const lockFile = resolve(lockPathOf(pipeline));
  const lock = await readLockFile(lockFile);
  const entry = lock && Object.entries(lock.stages).find(([, e]) => e.stage === 'report');
  if (!entry) throw new UserError(`${lockFile} has no finished 'report' stage; run \`lenna run ${pipeline}\` first (its pipeline needs a stage that uses report).`);
  const [instance, { outputs }] = entry;
  const store = new ArtifactStore(resolveStoreRoot());
  const dirs: Record<string, string> = {};
  for (const [output, id] of Object.entries(outputs)) {
    const artifact = await store.open(id);
    if (!artifact) throw new UserError(`output ${output} (${id.slice(0, 12)}) of ${instance} is missing from the store ${store.root}; run \`lenna run ${pipeline}\` to rebuild it.`);
    dirs[output] = artifact.dir;
  }
  if (!dirs.table) throw new UserError(`${instance} in ${lockFile} has no 'table' output; is it the report stage?`);
  if (values.json) {
    printJson({ instance, rows: tableToRows(await readArrowFile(join(dirs.table, 'table.arrow'))), outputs: dirs });
    return 0;
  }
  process.stdout.write(await readFile(join(dirs.table, 'table.md'), 'utf8'));
  process.stdout.write('\n' + Object.entries(dirs).map(([output, dir]) => `${output}: ${dir}`).join('\n') + '\n');
  if (dirs.html) process.stdout.write(`open ${join(dirs.html, 'report.html')} in a browser for the table and plots.\n`);
  return 0;
}
