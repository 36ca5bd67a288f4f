import { randomBytes } from 'node:crypto';
import { link, open, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InterruptedError, UserError } from './errors.js';
import { errnoCode } from './fsutil.js';
import { currentHolder, describeHolder, holderLiveness, ownerTag, parseHolder, tagLiveness, type Holder } from './holder.js';

/** How long a lenna command waits on a live lock holder before it gives up (`--lock-timeout`). */
export const DEFAULT_LOCK_TIMEOUT_S = 180;

export interface LockWaitOptions {
  /** What the lock guards, for messages: e.g. `the lock file pipelines/x.lock.json`. */
  what: string;
  /** What this process does while it holds the lock, for the person waiting on it. */
  purpose?: string;
  /** Aborting it ends the wait at once with an InterruptedError. */
  signal?: AbortSignal;
  /** Give up (UserError) after waiting this long on live holders; default DEFAULT_LOCK_TIMEOUT_S. */
  timeoutMs?: number;
  /** Told who holds the lock, once per holder, after the wait has lasted `reportAfterMs`. */
  onWait?(message: string): void;
  reportAfterMs?: number;
  /** Serve waiters in the order they came (for a lock its holder takes again and again, like the timing lock). */
  fair?: boolean;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * A lock held by a file at `path` that names its holder (host, pid, process start time). The file
 * appears complete or not at all (written aside, then hard-linked into place), so an empty or
 * unreadable lock file is debris, and like a lock whose holder process is gone it is taken over.
 * A holder on another host cannot be probed: it counts as live until the wait times out.
 */
export async function acquireFileLock(path: string, options: LockWaitOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_S * 1000;
  const reportAfterMs = options.reportAfterMs ?? 1000;
  const started = Date.now();
  let reported: string | undefined;
  let ticket: string | undefined;
  await sweepDebris(path);
  try {
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new InterruptedError(`interrupted while waiting for ${options.what}`);
      if (options.fair && ticket === undefined && (await liveTickets(path)).length > 0) ticket = await takeTicket(path);
      const myTurn = !options.fair || ticket === undefined || (await liveTickets(path))[0] === ticket;
      if (myTurn) {
        const held = await tryTake(path, options.purpose);
        if (held) return held;
      }
      const current = await readLock(path);
      if (current && current.liveness === 'dead') {
        await takeOver(path, current.ino);
        continue;
      }
      if (!current && myTurn) continue;
      if (options.fair && ticket === undefined) ticket = await takeTicket(path);
      const waited = Date.now() - started;
      const holder = current?.holder;
      if (waited >= timeoutMs) throw new UserError(timeoutMessage(path, options.what, waited, holder, current?.liveness));
      if (holder && waited >= reportAfterMs && reported !== holderKey(holder)) {
        reported = holderKey(holder);
        options.onWait?.(`waiting for ${options.what} (${path}), held by ${describeHolder(holder)}`);
      }
      await sleep(Math.min(5 + attempt * 5, 100), options.signal);
    }
  } finally {
    if (ticket) await unlink(ticket).catch(() => undefined);
  }
}

export async function withFileLock<T>(path: string, options: LockWaitOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** The holder recorded in a lock file, if the file exists. */
export async function readLockHolder(path: string): Promise<Holder | undefined> {
  return (await readLock(path))?.holder;
}

interface LockState {
  holder?: Holder;
  ino: number;
  /** An empty, torn or unreadable file counts as a dead holder's. */
  liveness: 'live' | 'dead' | 'unknown';
}

/** How long an empty lock file may be one being written (on a file system without hard links) before it counts as debris. */
const EMPTY_GRACE_MS = 2000;

async function readLock(path: string): Promise<LockState | undefined> {
  let info: Awaited<ReturnType<typeof stat>>;
  let text: string;
  try {
    info = await stat(path);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    return { ino: -1, liveness: 'dead' };
  }
  const holder = parseHolder(text);
  if (!holder && text === '' && Date.now() - Number(info.mtimeMs) < EMPTY_GRACE_MS) return { ino: Number(info.ino), liveness: 'live' };
  return { holder, ino: Number(info.ino), liveness: holder ? holderLiveness(holder) : 'dead' };
}

async function tryTake(path: string, purpose?: string): Promise<HeldLock | undefined> {
  const holder = JSON.stringify(currentHolder(purpose));
  const aside = `${path}.new${ownerTag()}${randomBytes(4).toString('hex')}`;
  await writeFile(aside, holder);
  try {
    await link(aside, path);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return undefined;
    if (!NO_HARD_LINKS.has(errnoCode(error) ?? '')) throw error;
    // A file system without hard links (FAT, some FUSE mounts): create exclusively, then write; an
    // empty lock is then given EMPTY_GRACE_MS before it counts as debris.
    if (!(await createExclusive(path, holder))) return undefined;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
  const { ino } = await stat(path);
  return {
    path,
    async release() {
      // Only our own file: had someone wrongly taken the lock over, theirs is not ours to delete.
      const now = await stat(path).catch(() => undefined);
      if (now?.ino === ino) await unlink(path).catch(() => undefined);
    },
  };
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

async function createExclusive(path: string, text: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Moves a dead holder's lock aside and deletes it. If the file moved is not the one judged dead (it
 * changed hands in between), it is put back.
 */
async function takeOver(path: string, staleIno: number): Promise<void> {
  const aside = `${path}.stale${ownerTag()}${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await stat(aside).catch(() => undefined);
  if (staleIno !== -1 && moved && moved.ino !== staleIno) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function ticketPrefix(path: string): string {
  return `${basename(path)}.wait.`;
}

async function takeTicket(path: string): Promise<string> {
  const name = `${ticketPrefix(path)}${String(Date.now()).padStart(15, '0')}.${randomBytes(4).toString('hex')}${ownerTag()}`;
  const ticket = join(dirname(path), name);
  await writeFile(ticket, '');
  return ticket;
}

/** Waiting tickets of live processes, oldest first; those of dead processes are deleted on the way. */
async function liveTickets(path: string): Promise<string[]> {
  const prefix = ticketPrefix(path);
  const names = (await readdir(dirname(path)).catch(() => [] as string[])).filter((n) => n.startsWith(prefix)).sort();
  const live: string[] = [];
  for (const name of names) {
    if (tagLiveness(name) === 'dead') await unlink(join(dirname(path), name)).catch(() => undefined);
    else live.push(join(dirname(path), name));
  }
  return live;
}

/** What a process killed while taking the lock leaves beside it: the file it was about to link, a ticket. */
async function sweepDebris(path: string): Promise<void> {
  const base = basename(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${base}.`) || !/^\.(new|stale|wait)/.test(name.slice(base.length))) continue;
    if (tagLiveness(name) === 'dead') await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

function holderKey(holder: Holder): string {
  return `${holder.host}:${holder.pid}:${holder.start}:${holder.since}`;
}

function timeoutMessage(path: string, what: string, waitedMs: number, holder: Holder | undefined, liveness: string | undefined): string {
  const seconds = Math.round(waitedMs / 1000);
  if (!holder) return `gave up after ${seconds} s waiting for ${what} (${path}) behind other waiting processes; try again, or wait longer with --lock-timeout.`;
  const remote = liveness === 'unknown' ? ' (another host: lenna cannot tell whether it still runs)' : '';
  return `gave up after ${seconds} s waiting for ${what} (${path}), held by ${describeHolder(holder)}${remote}; stop that process if it hangs (delete ${path} if it is gone), or wait longer with --lock-timeout.`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
