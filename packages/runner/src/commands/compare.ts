import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { ArtifactStore, instanceKeys, instanceStage, markdownTable, readArrowFile, resolveStoreRoot, tableToRows, UserError } from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { readLockFile } from '../lockfile.js';
import { lockPathOf } from './locks.js';
import { printJson } from './output.js';
import { help } from './pipeline.js';

export const compareHelp = `lenna compare <pipeline.yaml> <stage>.<output>[/<file>] [--columns a,b,c] [--json]

One table across a sweep: for every finished instance of <stage> in the pipeline's lock file, the
rows of <file> in its <output> artifact (an Arrow table, a JSON array of objects, or a JSON object),
each prefixed by the instance's sweep values. <file> defaults to the output's only .arrow file, else
its only .json file. Instances are ordered by their sweep values. Runs nothing: use lenna run first.

  --columns a,b,c   keep only these columns of the file (after the sweep values)
  --json            print {"rows": [...]} instead of a Markdown table

Example: lenna compare pipelines/predictor-ablation.yaml predictor.metrics --columns model,mape,within10,spearman`;

type Row = Record<string, unknown>;

export async function compareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('compare', argv, { json: { type: 'boolean' }, columns: { type: 'string' } });
  if (values.help) return help(compareHelp);
  const [pipeline, target] = positionals;
  requirePositional('compare', positionals.slice(0, 1), 'the pipeline');
  if (!target) throw new UserError('lenna compare: missing <stage>.<output> (e.g. predictor.metrics); see lenna compare --help.');
  if (positionals.length > 2) throw new UserError(`lenna compare: unexpected argument "${positionals[2]}"; see lenna compare --help.`);
  const { stage, output, file } = parseTarget(target);
  const lockFile = resolve(lockPathOf(pipeline));
  const lock = await readLockFile(lockFile);
  if (!lock) throw new UserError(`${lockFile} does not exist; run \`lenna run ${pipeline}\` first.`);
  const instances = Object.keys(lock.stages).filter((id) => instanceStage(id) === stage);
  if (instances.length === 0) {
    throw new UserError(`${lockFile} has no finished instance of stage '${stage}'; it has: ${[...new Set(Object.keys(lock.stages).map(instanceStage))].join(', ')}.`);
  }
  const store = new ArtifactStore(resolveStoreRoot());
  const rows: Row[] = [];
  for (const { instance, sweep } of instances.map((instance) => ({ instance, sweep: sweepValues(instance) })).sort(bySweep)) {
    const id = lock.stages[instance].outputs[output];
    if (!id) throw new UserError(`${instance} has no output '${output}'; its outputs: ${Object.keys(lock.stages[instance].outputs).join(', ')}.`);
    const artifact = await store.open(id);
    if (!artifact) throw new UserError(`output ${output} (${id.slice(0, 12)}) of ${instance} is missing from the store ${store.root}; run \`lenna run ${pipeline}\` to rebuild it.`);
    for (const row of await readRows(artifact.dir, artifact.files, file, `${instance}.${output}`)) rows.push({ ...sweep, ...pick(row, values.columns as string | undefined) });
  }
  if (values.json) printJson({ rows });
  else process.stdout.write(rowsAsMarkdown(rows));
  return 0;
}

function parseTarget(target: string): { stage: string; output: string; file?: string } {
  const [head, ...rest] = target.split('/');
  const dot = head.lastIndexOf('.');
  if (dot <= 0 || dot === head.length - 1) {
    throw new UserError(`lenna compare: "${target}" is not <stage>.<output>[/<file>]; write e.g. predictor.metrics or predictor.metrics/metrics.json.`);
  }
  return { stage: head.slice(0, dot), output: head.slice(dot + 1), file: rest.length ? rest.join('/') : undefined };
}

/** An instance's matrix values (numbers where they parse as numbers). */
function sweepValues(instance: string): Row {
  return Object.fromEntries([...instanceKeys(instance)].map(([name, value]) => [name, value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value]));
}

/** Numeric sweep values in numeric order, then anything else as text. */
function bySweep(a: { instance: string; sweep: Row }, b: { instance: string; sweep: Row }): number {
  const [va, vb] = [Object.values(a.sweep), Object.values(b.sweep)];
  for (let i = 0; i < Math.min(va.length, vb.length); i++) {
    const d = typeof va[i] === 'number' && typeof vb[i] === 'number' ? (va[i] as number) - (vb[i] as number) : String(va[i]).localeCompare(String(vb[i]));
    if (d !== 0) return d;
  }
  return a.instance.localeCompare(b.instance);
}

/** The rows of `file` (by default the artifact's table file, see onlyTableFile) among the artifact's `files`. */
async function readRows(dir: string, files: string[], file: string | undefined, where: string): Promise<Row[]> {
  const name = file ?? onlyTableFile(files, where);
  if (!files.includes(name)) throw new UserError(`${where} has no file ${name}; its files: ${files.join(', ')}.`);
  const path = join(dir, name);
  if (extname(name) === '.arrow') return tableToRows(await readArrowFile(path)) as Row[];
  if (extname(name) !== '.json') throw new UserError(`${where}/${name} is neither an Arrow table nor JSON; name a .arrow or .json file.`);
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (Array.isArray(parsed)) return parsed.map((r) => (typeof r === 'object' && r !== null ? (r as Row) : { value: r }));
  return [typeof parsed === 'object' && parsed !== null ? (parsed as Row) : { value: parsed }];
}

/** The artifact's only Arrow table, else its only JSON file (tables are the row format of record). */
function onlyTableFile(files: string[], where: string): string {
  for (const ext of ['.arrow', '.json']) {
    const found = files.filter((f) => f.endsWith(ext));
    if (found.length === 1) return found[0];
    if (found.length > 1) throw new UserError(`${where} has several ${ext} files (${found.join(', ')}); name one after a slash, e.g. ${where}/${found[0]}.`);
  }
  throw new UserError(`${where} has no .arrow or .json file (its files: ${files.join(', ')}); name one after a slash.`);
}

function pick(row: Row, columns: string | undefined): Row {
  if (!columns) return row;
  const wanted = columns.split(',').map((c) => c.trim()).filter(Boolean);
  const missing = wanted.filter((c) => !(c in row));
  if (missing.length) throw new UserError(`lenna compare: no column ${missing.join(', ')}; the file has: ${Object.keys(row).join(', ')}.`);
  return Object.fromEntries(wanted.map((c) => [c, row[c]]));
}

function cell(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  if (typeof value === 'bigint') return value.toString();
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function rowsAsMarkdown(rows: Row[]): string {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const columns = names.map((name) => ({ name, numeric: rows.every((r) => r[name] === undefined || typeof r[name] === 'number' || typeof r[name] === 'bigint') }));
  return markdownTable(columns, rows.map((r) => names.map((name) => cell(r[name]))));
}
