import { ArtifactStore, resolveStoreRoot } from '@lenna/core';
import { parseCommandArgs } from '../args.js';
import { listLockFiles, readLocks } from './locks.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const gcHelp = `lenna gc [--dry-run] [--json] [pipeline.yaml | x.lock.json ...]

Removes every artifact that no lock file references (the lock files under pipelines/ and any given),
and abandoned staging folders. --dry-run lists what would go.

Example: lenna gc --dry-run`;

export const verifyHelp = `lenna verify [--json]

Re-hashes every artifact in the store and lists the corrupt ones; exit status 1 if any.

Example: lenna verify`;

export async function gcCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('gc', argv, { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } });
  if (values.help) return help(gcHelp);
  const store = new ArtifactStore(resolveStoreRoot());
  const locks = await readLocks(await listLockFiles(positionals));
  const keep = new Set<string>();
  for (const [, lock] of locks) for (const entry of Object.values(lock.stages)) Object.values(entry.outputs).forEach((id) => keep.add(id));
  const unused = (await store.list()).filter((id) => !keep.has(id));
  if (!values['dry-run']) {
    for (const id of unused) await store.remove(id);
    await store.cleanTmp();
  }
  if (values.json) printJson({ removed: values['dry-run'] ? [] : unused, wouldRemove: values['dry-run'] ? unused : [], kept: keep.size });
  else {
    const verb = values['dry-run'] ? 'would remove' : 'removed';
    process.stdout.write(unused.map((id) => `${verb} ${id}\n`).join('') + `${verb} ${unused.length} artifact(s); ${keep.size} referenced by ${locks.length} lock file(s) kept.\n`);
  }
  return 0;
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('verify', argv, { json: { type: 'boolean' } });
  if (values.help) return help(verifyHelp);
  const store = new ArtifactStore(resolveStoreRoot());
  const results = [];
  for (const id of await store.list()) results.push(await store.verify(id));
  const bad = results.filter((r) => !r.ok);
  if (values.json) printJson({ checked: results.length, corrupt: bad });
  else {
    for (const r of bad) process.stdout.write(`corrupt ${r.id}: ${r.problem}\n`);
    process.stdout.write(`${results.length} artifact(s) checked, ${bad.length} corrupt.\n`);
  }
  return bad.length > 0 ? 1 : 0;
}
