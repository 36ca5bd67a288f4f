import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import { sha256Hex } from './hash.js';
import { currentHolder, holderLiveness, ownerTag, parseHolder, type Holder } from './holder.js';

/**
 * What the store remembers so that `lenna gc` never deletes something a user ran: a run record per
 * command that computed something (`runs/`), and the lock files that used the store (`locks/`).
 */

/** One stage instance a command ran (or, for `lenna stage`, the stage it ran): what it read and wrote. */
export interface RunEntry {
  stage: string;
  key: string;
  inputs: Record<string, string | string[]>;
  outputs: Record<string, string>;
}

export interface RunRecord {
  kind: 'run' | 'stage' | 'import';
  /** The command line, e.g. `lenna run sweep.yaml --set scale.factor=7`. */
  command: string;
  cwd: string;
  lockFile?: string;
  startedAt: string;
  /** Absent while the command runs, and after a crash. */
  finishedAt?: string;
  holder: Holder;
  instances: Record<string, RunEntry>;
  /** Artifacts referenced outside any instance (an import's). */
  ids?: string[];
}

/** A run record on disk, written again as each instance finishes (so a crash keeps what finished). */
export class RunLog {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly record: RunRecord,
  ) {}

  static async start(storeRoot: string, info: Pick<RunRecord, 'kind' | 'command' | 'lockFile'>): Promise<RunLog> {
    const startedAt = new Date().toISOString();
    const name = `${startedAt.replace(/[:.]/g, '-')}${ownerTag()}${randomBytes(4).toString('hex')}.json`;
    const log = new RunLog(join(resolve(storeRoot), 'runs', name), { ...info, cwd: process.cwd(), startedAt, holder: currentHolder(info.command), instances: {} });
    await log.save();
    return log;
  }

  add(instance: string, entry: RunEntry): Promise<void> {
    // defineProperty: an instance id is data, even one spelled __proto__.
    Object.defineProperty(this.record.instances, instance, { value: entry, enumerable: true, configurable: true, writable: true });
    return this.save();
  }

  addIds(ids: string[]): Promise<void> {
    this.record.ids = [...new Set([...(this.record.ids ?? []), ...ids])].sort();
    return this.save();
  }

  /** Marks the record finished; a record of a command that produced and used nothing is dropped. */
  async finish(): Promise<void> {
    await this.writing;
    if (Object.keys(this.record.instances).length === 0 && !this.record.ids?.length) {
      await rm(this.path, { force: true });
      return;
    }
    this.record.finishedAt = new Date().toISOString();
    await this.save();
  }

  private save(): Promise<void> {
    const text = `${JSON.stringify(this.record, null, 2)}\n`;
    this.writing = this.writing.catch(() => undefined).then(() => writeFileAtomic(this.path, text));
    return this.writing;
  }
}

export interface StoredRunRecord {
  path: string;
  /** Undefined when the file is not a readable run record. */
  record?: RunRecord;
}

export async function listRunRecords(storeRoot: string): Promise<StoredRunRecord[]> {
  const dir = join(resolve(storeRoot), 'runs');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json') && !n.includes('.tmp-')).sort();
  const result: StoredRunRecord[] = [];
  for (const name of names) {
    const path = join(dir, name);
    result.push({ path, record: parseRunRecord(await readFile(path, 'utf8').catch(() => '')) });
  }
  return result;
}

function parseRunRecord(text: string): RunRecord | undefined {
  try {
    const value = JSON.parse(text) as RunRecord;
    if (typeof value?.instances !== 'object' || value.instances === null || typeof value.startedAt !== 'string') return undefined;
    const holder = parseHolder(JSON.stringify(value.holder ?? null));
    return holder ? { ...value, holder } : undefined;
  } catch {
    return undefined;
  }
}

/** Every artifact id a run record references: inputs and outputs of its instances, and its ids. */
export function runRecordIds(record: RunRecord): string[] {
  const ids = new Set<string>(record.ids ?? []);
  for (const entry of Object.values(record.instances)) {
    for (const id of Object.values(entry.outputs ?? {})) ids.add(id);
    for (const input of Object.values(entry.inputs ?? {})) for (const id of [input].flat()) ids.add(id);
  }
  return [...ids];
}

/** A command still running on this store (its record unfinished and its process live or on another host). */
export function isRunning(record: RunRecord): boolean {
  return record.finishedAt === undefined && holderLiveness(record.holder) !== 'dead';
}

// ---------------------------------------------------------------------------------------------
// The lock files that used this store.

function registryPath(storeRoot: string, lockFile: string): string {
  return join(resolve(storeRoot), 'locks', `${sha256Hex(resolve(lockFile)).slice(0, 24)}.json`);
}

/** Remember that this lock file records runs in this store (gc protects what it references). */
export async function registerLockFile(storeRoot: string, lockFile: string): Promise<void> {
  const path = registryPath(storeRoot, lockFile);
  if (await stat(path).then(() => true, () => false)) return;
  await writeFileAtomic(path, `${JSON.stringify({ lockFile: resolve(lockFile) }, null, 2)}\n`);
}

export async function registeredLockFiles(storeRoot: string): Promise<string[]> {
  const dir = join(resolve(storeRoot), 'locks');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json') && !n.includes('.tmp-'));
  const files: string[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    let lockFile: unknown;
    try {
      lockFile = (JSON.parse(text) as { lockFile?: unknown }).lockFile;
    } catch {
      lockFile = undefined;
    }
    if (typeof lockFile !== 'string') throw new UserError(`${join(dir, name)} is not a lock-file registration ({"lockFile": <path>}); fix or delete it, then run gc again.`);
    files.push(lockFile);
  }
  return files.sort();
}

/** Forget a registered lock file (it no longer exists). */
export async function forgetLockFile(storeRoot: string, lockFile: string): Promise<void> {
  await rm(registryPath(storeRoot, lockFile), { force: true });
}

/** `lenna gc` holds this lock while it deletes; a run waits for it before it reads the cache. */
export function gcLockPath(storeRoot: string): string {
  return join(resolve(storeRoot), 'gc.lock');
}
