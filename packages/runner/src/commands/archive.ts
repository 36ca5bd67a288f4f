import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gcLockPath, resolveStoreRoot, RunLog, withFileLock } from '@lenna/core';
import { intOption, lockTimeoutOption, parseCommandArgs, requirePositional } from '../args.js';
import { exportArtifacts, lockFileReferences } from '../archive/export.js';
import { DEFAULT_MAX_ENTRIES, importArtifacts } from '../archive/import.js';
import { lockPathOf } from './locks.js';
import { printJson } from './output.js';
import { help } from './pipeline.js';

export const exportHelp = `lenna export <pipeline.yaml | x.lock.json> <file.tar[.gz]> [--json]

Packs every artifact the pipeline's lock file references (inputs and outputs of every stage), the
cache records of those runs and the lock file itself into one tar, so another store can reproduce
the pipeline's results without computing anything (lenna import, then lenna run --cached-only).

Example: lenna export pipelines/quickstart.yaml quickstart-artifacts.tar.gz`;

export const importHelp = `lenna import <file.tar[.gz]> [--locks <dir>] [--max-bytes N] [--max-entries N] [--json]

Puts the artifacts of a tar made by lenna export into the store (./artifacts or $LENNA_STORE),
streaming, re-hashing every file against its manifest and its id; refuses entries with absolute
paths, '..', links or anything outside the store layout, and archives that would unpack to more than
--max-bytes (default: 200 times the file's size, at most the store's free space) or hold more than
--max-entries entries (default ${DEFAULT_MAX_ENTRIES}). A cache record the store already has with other outputs
is kept and reported, not overwritten. --locks <dir> also writes the tar's lock files there (e.g.
--locks pipelines), never over a different one; without it they are only listed.

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
  const { values, positionals } = parseCommandArgs('import', argv, {
    locks: { type: 'string' },
    'max-bytes': { type: 'string' },
    'max-entries': { type: 'string' },
    'lock-timeout': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(importHelp);
  const tar = requirePositional('import', positionals, 'the tar file to read');
  const maxBytes = intOption('import', 'max-bytes', values['max-bytes'] as string | undefined);
  const maxEntries = intOption('import', 'max-entries', values['max-entries'] as string | undefined);
  const timeoutMs = lockTimeoutOption('import', values['lock-timeout'] as string | undefined) * 1000;
  const store = resolveStoreRoot();
  // Recorded first, so gc keeps what the import brings (and waits for a gc in progress).
  const runLog = await RunLog.start(store, { kind: 'import', command: `lenna import ${argv.join(' ')}` });
  let result;
  try {
    await withFileLock(gcLockPath(store), { what: 'the store (lenna gc is running)', timeoutMs }, async () => undefined);
    result = await importArtifacts(resolve(tar), store, { maxBytes, maxEntries });
    await runLog.addIds(result.ids);
  } finally {
    await runLog.finish();
  }
  const written: string[] = [];
  const lockConflicts: string[] = [];
  if (typeof values.locks === 'string') {
    await mkdir(values.locks, { recursive: true });
    for (const [name, text] of Object.entries(result.lockFiles)) {
      const path = join(values.locks, name);
      const existing = await readFile(path, 'utf8').catch(() => undefined);
      if (existing !== undefined && existing !== text) {
        lockConflicts.push(path);
        continue;
      }
      await writeFile(path, text);
      written.push(path);
    }
  }
  if (values.json) {
    printJson({ store, ids: result.ids, cacheKeys: result.cacheKeys, conflicts: result.conflicts, lockFiles: Object.keys(result.lockFiles), written, lockConflicts });
    return 0;
  }
  const locks = Object.keys(result.lockFiles);
  const lockNote = written.length ? `; wrote ${written.join(', ')}` : locks.length && !lockConflicts.length ? `; lock files in the tar (write them with --locks <dir>): ${locks.join(', ')}` : '';
  process.stdout.write(`imported ${result.ids.length} artifact(s) and ${result.cacheKeys.length} cache record(s) into ${store}${lockNote}.\n`);
  for (const c of result.conflicts) {
    process.stdout.write(`kept this store's cache record ${c.cacheKey}: its outputs ${JSON.stringify(c.local)} differ from the archive's ${JSON.stringify(c.archive)} (both runs happened; lenna run uses this store's).\n`);
  }
  for (const path of lockConflicts) process.stdout.write(`kept ${path}: it differs from the archive's; move it away and import again to take the archive's.\n`);
  return 0;
}
