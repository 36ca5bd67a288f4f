import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveStoreRoot } from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { exportArtifacts, importArtifacts, lockFileReferences } from '../archive.js';
import { lockPathOf } from './locks.js';
import { printJson } from './output.js';
import { help } from './pipeline.js';

export const exportHelp = `lenna export <pipeline.yaml | x.lock.json> <file.tar[.gz]> [--json]

Packs every artifact the pipeline's lock file references (inputs and outputs of every stage), the
cache records of those runs and the lock file itself into one tar, so another store can reproduce
the pipeline's results without computing anything (lenna import, then lenna run --cached-only).

Example: lenna export pipelines/quickstart.yaml quickstart-artifacts.tar.gz`;

export const importHelp = `lenna import <file.tar[.gz]> [--locks <dir>] [--json]

Puts the artifacts of a tar made by lenna export into the store (./artifacts or $LENNA_STORE),
re-hashing every file against its manifest and its id; refuses entries with absolute paths, '..',
links or anything outside the store layout. --locks <dir> also writes the tar's lock files there
(e.g. --locks pipelines); without it they are only listed.

Example: lenna import quickstart-artifacts.tar.gz && lenna run pipelines/quickstart.yaml --cached-only`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', argv, { json: { type: 'boolean' } });
  if (values.help) return help(exportHelp);
  const [pipeline, tar] = positionals;
  requirePositional('export', positionals.slice(0, 1), 'the pipeline (or its lock file)');
  requirePositional('export', positionals.slice(1), 'the tar file to write');
  const lockFile = resolve(lockPathOf(pipeline));
  const { ids } = await lockFileReferences(lockFile);
  const result = await exportArtifacts(resolveStoreRoot(), ids, resolve(tar), { lockFile });
  if (values.json) printJson({ tar: resolve(tar), ids: result.ids, entries: result.entries });
  else process.stdout.write(`wrote ${tar}: ${result.ids.length} artifact(s), ${result.entries} file(s), from ${lockFile}.\n`);
  return 0;
}

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('import', argv, { locks: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help(importHelp);
  const tar = requirePositional('import', positionals, 'the tar file to read');
  const store = resolveStoreRoot();
  const result = await importArtifacts(resolve(tar), store);
  const written: string[] = [];
  if (typeof values.locks === 'string') {
    await mkdir(values.locks, { recursive: true });
    for (const [name, text] of Object.entries(result.lockFiles)) {
      const path = join(values.locks, name);
      await writeFile(path, text);
      written.push(path);
    }
  }
  if (values.json) printJson({ store, ids: result.ids, cacheKeys: result.cacheKeys, lockFiles: Object.keys(result.lockFiles), written });
  else {
    const locks = Object.keys(result.lockFiles);
    const lockNote = written.length ? `; wrote ${written.join(', ')}` : locks.length ? `; lock files in the tar (write them with --locks <dir>): ${locks.join(', ')}` : '';
    process.stdout.write(`imported ${result.ids.length} artifact(s) and ${result.cacheKeys.length} cache record(s) into ${store}${lockNote}.\n`);
  }
  return 0;
}
