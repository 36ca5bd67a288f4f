import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a lock or owns a temp folder: host, pid and the process's start time, so a pid the
 * kernel has since handed to another process is not mistaken for the holder.
 */
export interface Holder {
  host: string;
  pid: number;
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks after boot); null where /proc is absent. */
  start: number | null;
  /** Linux: /proc/sys/kernel/random/boot_id; a holder from before a reboot is gone. */
  boot: string | null;
  /** When it took the lock (ISO time). */
  since: string;
  /** What it is doing, for the person waiting (e.g. `lenna run pipelines/quickstart.yaml`). */
  what?: string;
}

/** 'unknown': the holder runs on another host, where its pid cannot be probed. */
export type Liveness = 'live' | 'dead' | 'unknown';

const bootId = readProc('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
const ownStart = processStartTime(process.pid);

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat, counted after the `(comm)` field, which may hold spaces and parentheses. */
export function processStartTime(pid: number): number | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : null;
}

function processState(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] : undefined;
}

export function currentHolder(what?: string): Holder {
  return { host: hostname(), pid: process.pid, start: ownStart, boot: bootId, since: new Date().toISOString(), ...(what ? { what } : {}) };
}

/** Whether a process with this pid and start time still runs on this host (a zombie counts as gone). */
export function processIsLive(pid: number, start: number | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (processState(pid) === 'Z') return false;
  const now = processStartTime(pid);
  return start === null || now === null || now === start;
}

export function holderLiveness(holder: Holder): Liveness {
  if (holder.host !== hostname()) return 'unknown';
  if (holder.boot && bootId && holder.boot !== bootId) return 'dead';
  return processIsLive(holder.pid, holder.start) ? 'live' : 'dead';
}

/** A holder read back from a file; undefined when the text is not one (empty, torn, foreign). */
export function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value?.host !== 'string' || !Number.isInteger(value.pid)) return undefined;
    return {
      host: value.host,
      pid: value.pid as number,
      start: typeof value.start === 'number' ? value.start : null,
      boot: typeof value.boot === 'string' ? value.boot : null,
      since: typeof value.since === 'string' ? value.since : '',
      ...(typeof value.what === 'string' ? { what: value.what } : {}),
    };
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: Holder): string {
  const what = holder.what ? ` (${holder.what})` : '';
  const since = holder.since ? ` since ${holder.since}` : '';
  return `pid ${holder.pid} on host ${holder.host}${what}${since}`;
}

// ---------------------------------------------------------------------------------------------
// Owner tags: the holder of a temp file or folder, written into its name.

const TAG = /~([A-Za-z0-9-]{1,40})\+(\d+)\+(\d+)~/;

function tagHost(host: string): string {
  return host.replace(/[^A-Za-z0-9-]+/g, '-').slice(0, 40) || 'host';
}

/** `~<host>+<pid>+<start>~`: put into the name of every temp file and staging folder this process makes. */
export function ownerTag(): string {
  return `~${tagHost(hostname())}+${process.pid}+${ownStart ?? 0}~`;
}

/**
 * 'dead' when the name carries the tag of a process of this host that is gone, 'live' when that
 * process still runs, 'unknown' when the name has no tag or the tag is of another host.
 */
export function tagLiveness(name: string): Liveness {
  const match = TAG.exec(name);
  if (!match || match[1] !== tagHost(hostname())) return 'unknown';
  const start = Number(match[3]);
  return processIsLive(Number(match[2]), start === 0 ? null : start) ? 'live' : 'dead';
}
