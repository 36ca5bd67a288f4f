import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArtifactStore,
  describeHolder,
  forgetLockFile,
  gcLockPath,
  isRunning,
  listRunRecords,
  registeredLockFiles,
  resolveStoreRoot,
  runRecordIds,
  UserError,
  withFileLock,
  type Manifest,
  type StoredRunRecord,
} from '@lenna/core';
import { lockTimeoutOption, parseCommandArgs } from '../args.js';
import { readLockFile } from '../lockfile.js';
import { listLockFiles } from './locks.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const gcHelp = `lenna gc [--dry-run] [--all] [--forget-runs <age>] [--json] [pipeline.yaml | x.lock.json ...]

Removes every artifact that nothing protects, with what crashed runs left behind. Protected is what
any lock file references (those under pipelines/, those given, and every lock file that ever ran on
this store) and what any run record references (each lenna run, lenna stage and lenna import that
made or brought something is recorded), inputs as well as outputs. With nothing to protect, gc
refuses unless given --all. It refuses while a run uses the store.

  --dry-run            list what would be removed and why; remove nothing
  --forget-runs <age>  first forget run records older than <age> (30d, 12h, 45m; 0 forgets all),
                       so what only they protected goes too
  --all                remove every artifact, protected or not

Example: lenna gc --dry-run --forget-runs 30d`;

export const verifyHelp = `lenna verify [--json]

Re-hashes every artifact in the store. A corrupt one is moved to quarantine/ (the next lenna run
rebuilds it and says so); damaged cache records are removed. Exit status 1 if anything was corrupt,
2 if a file could not be read (permission, I/O error: nothing is moved then).

Example: lenna verify`;

interface Doomed {
  id: string;
  why: string;
  bytes: number;
}

export async function gcCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('gc', argv, {
    'dry-run': { type: 'boolean' },
    all: { type: 'boolean' },
    'forget-runs': { type: 'string' },
    'lock-timeout': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(gcHelp);
  const dryRun = Boolean(values['dry-run']);
  const forgetAge = values['forget-runs'] === undefined ? undefined : parseAge(values['forget-runs'] as string);
  const timeoutMs = lockTimeoutOption('gc', values['lock-timeout'] as string | undefined) * 1000;
  const store = new ArtifactStore(resolveStoreRoot());
  if (!existsSync(store.root)) {
    process.stdout.write(`no store at ${store.root}; nothing to remove.\n`);
    return 0;
  }
  const onWait = (m: string) => process.stderr.write(`lenna: ${m}\n`);
  const run = () => collect(store, { dryRun, all: Boolean(values.all), forgetAge, extraLocks: positionals, json: Boolean(values.json) });
  // A dry run deletes nothing, so it needs no lock.
  return dryRun ? run() : withFileLock(gcLockPath(store.root), { what: 'the store', purpose: 'lenna gc', timeoutMs, onWait }, run);
}

interface GcOptions {
  dryRun: boolean;
  all: boolean;
  forgetAge?: number;
  extraLocks: string[];
  json: boolean;
}

async function collect(store: ArtifactStore, options: GcOptions): Promise<number> {
  const records = await listRunRecords(store.root);
  const running = records.find((r) => r.record && isRunning(r.record));
  if (running?.record) {
    throw new UserError(`lenna gc: ${describeHolder(running.record.holder)} is using the store ${store.root} (record ${running.path}); run gc once it has ended.`);
  }
  const unreadable = records.find((r) => !r.record);
  if (unreadable) throw new UserError(`lenna gc: ${unreadable.path} is not a readable run record, so gc cannot tell what it protects; fix or delete it, then run gc again.`);
  const now = Date.now();
  const forgotten = options.forgetAge === undefined ? [] : records.filter((r) => now - Date.parse(r.record?.finishedAt ?? r.record?.startedAt ?? '') >= (options.forgetAge as number));
  const kept = records.filter((r) => !forgotten.includes(r));
  const { lockFiles, gone, keep } = await protectedIds(store, options.extraLocks, kept);
  const objects = await store.list();
  if (keep.size === 0 && objects.length > 0 && !options.all) {
    throw new UserError(
      `lenna gc: no lock file and no run record references anything in the store ${store.root}, so gc would delete all ${objects.length} artifact(s); give the lock files that use it (lenna gc pipelines/<name>.yaml), or --all to delete everything.`,
    );
  }
  const doomed: Doomed[] = [];
  for (const id of objects) if (options.all || !keep.has(id)) doomed.push({ id, ...(await describeObject(store, id)) });
  const quarantined = await store.listQuarantine();
  if (!options.dryRun) {
    for (const r of forgotten) await rm(r.path, { force: true });
    for (const file of gone) await forgetLockFile(store.root, file);
    for (const d of doomed) await store.remove(d.id);
    for (const path of quarantined) await store.discardStaging(path);
    await dropDanglingCacheRecords(store);
    await store.cleanTmp();
  }
  report(options, { doomed, quarantined, forgotten, keep: keep.size, lockFiles: lockFiles.length, runRecords: kept.length });
  return 0;
}

/** Ids referenced by lock files (given, under pipelines/, registered) and by the run records kept. */
async function protectedIds(store: ArtifactStore, extraLocks: string[], records: StoredRunRecord[]) {
  const candidates = [...new Set([...(await listLockFiles(extraLocks)), ...(await registeredLockFiles(store.root))])].sort();
  const keep = new Set<string>();
  const lockFiles: string[] = [];
  const gone: string[] = [];
  for (const file of candidates) {
    const lock = await readLockFile(file);
    if (!lock) {
      gone.push(file);
      continue;
    }
    lockFiles.push(file);
    for (const entry of Object.values(lock.stages)) {
      for (const id of Object.values(entry.outputs ?? {})) keep.add(id);
      for (const input of Object.values(entry.inputs ?? {})) for (const id of [input].flat()) keep.add(id);
    }
  }
  for (const r of records) if (r.record) runRecordIds(r.record).forEach((id) => keep.add(id));
  return { lockFiles, gone, keep };
}

async function describeObject(store: ArtifactStore, id: string): Promise<{ why: string; bytes: number }> {
  const dir = store.objectDir(id);
  let manifest: Partial<Manifest> = {};
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    // described without it
  }
  const bytes = Object.values(manifest.files ?? {}).reduce((sum, f) => sum + (f.size ?? 0), 0) || (await stat(dir).then((s) => s.size, () => 0));
  const what = manifest.stage ? `${manifest.stage}.${manifest.output} of ${manifest.instance ?? manifest.stage}` : 'an artifact without a readable manifest';
  return { why: `${what}, ${formatBytes(bytes)}: no lock file or run record references it`, bytes };
}

/** Cache records naming an output that is no longer in the store would only make a run look cached. */
async function dropDanglingCacheRecords(store: ArtifactStore): Promise<void> {
  const present = new Set(await store.list());
  for (const key of await store.listCacheKeys()) {
    // An unreadable record (permission, I/O error) is left alone: nothing is deleted on a read error.
    const record = await store.readCacheRecord(key).catch(() => 'unreadable' as const);
    if (record === 'unreadable') continue;
    if (!record || Object.values(record.outputs).some((id) => !present.has(id))) await store.removeCacheRecord(key);
  }
}

function report(
  options: GcOptions,
  r: { doomed: Doomed[]; quarantined: string[]; forgotten: StoredRunRecord[]; keep: number; lockFiles: number; runRecords: number },
): void {
  const verb = options.dryRun ? 'would remove' : 'removed';
  if (options.json) {
    const ids = r.doomed.map((d) => d.id);
    printJson({
      removed: options.dryRun ? [] : ids,
      wouldRemove: options.dryRun ? ids : [],
      why: Object.fromEntries(r.doomed.map((d) => [d.id, d.why])),
      quarantine: r.quarantined,
      forgottenRuns: r.forgotten.map((f) => f.path),
      kept: r.keep,
      lockFiles: r.lockFiles,
      runRecords: r.runRecords,
    });
    return;
  }
  const lines = [
    ...r.forgotten.map((f) => `${options.dryRun ? 'would forget' : 'forgot'} run record ${f.path} (${f.record?.command ?? '?'}, ${f.record?.startedAt ?? '?'})`),
    ...r.doomed.map((d) => `${verb} ${d.id}  ${options.all ? d.why.replace(/: no lock file.*$/, ': --all') : d.why}`),
    ...r.quarantined.map((q) => `${verb} ${q} (a corrupt copy lenna verify moved aside)`),
  ];
  const total = formatBytes(r.doomed.reduce((sum, d) => sum + d.bytes, 0));
  lines.push(`${verb} ${r.doomed.length} artifact(s) (${total}); kept ${r.keep} referenced by ${r.lockFiles} lock file(s) and ${r.runRecords} run record(s).`);
  process.stdout.write(lines.join('\n') + '\n');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** `30d`, `12h`, `45m`, `90s` or `0`, in milliseconds. */
function parseAge(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([dhms]?)$/.exec(text.trim());
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, '': 1000 } as const;
  if (!match || (match[2] === '' && Number(match[1]) !== 0)) throw new UserError(`lenna gc: --forget-runs ${text} is not an age; give e.g. --forget-runs 30d (days), 12h, 45m, or 0 for all.`);
  return Number(match[1]) * unit[match[2] as keyof typeof unit];
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('verify', argv, { json: { type: 'boolean' } });
  if (values.help) return help(verifyHelp);
  const store = new ArtifactStore(resolveStoreRoot());
  const results = [];
  for (const id of await store.list()) results.push(await store.verify(id));
  const unreadable = results.filter((r) => r.unreadable);
  const corrupt = results.filter((r) => !r.ok && !r.unreadable);
  const moved = new Map<string, string>();
  for (const r of corrupt) {
    const note = await store.quarantine(r.id, r.problem ?? 'corrupt');
    if (note) moved.set(r.id, note.folder);
  }
  const damagedRecords: string[] = [];
  for (const key of await store.listCacheKeys()) {
    if (await store.readCacheRecord(key).catch(() => 'unreadable')) continue;
    damagedRecords.push(key);
    await store.removeCacheRecord(key);
  }
  if (values.json) printJson({ checked: results.length, corrupt, unreadable, quarantined: Object.fromEntries(moved), damagedCacheRecords: damagedRecords });
  else {
    for (const r of corrupt) process.stdout.write(`corrupt ${r.id}: ${r.problem}; moved to ${moved.get(r.id) ?? 'quarantine/'} (the next lenna run rebuilds it)\n`);
    for (const r of unreadable) process.stdout.write(`unreadable ${r.id}: ${r.problem}\n`);
    for (const key of damagedRecords) process.stdout.write(`damaged cache record ${key}: removed (the stage runs again)\n`);
    process.stdout.write(`${results.length} artifact(s) checked, ${corrupt.length} corrupt, ${unreadable.length} unreadable, ${damagedRecords.length} damaged cache record(s).\n`);
  }
  if (unreadable.length > 0) return 2;
  return corrupt.length > 0 || damagedRecords.length > 0 ? 1 : 0;
}
