/** A mistake the user can fix (a bad param, a malformed file): the CLI prints the message and exits 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** An artifact in the store whose files no longer match its id: callers treat it as missing. */
export class CorruptArtifactError extends Error {
  readonly id: string;
  readonly problem: string;
  constructor(id: string, problem: string) {
    super(`artifact ${id} is corrupt: ${problem}`);
    this.name = 'CorruptArtifactError';
    this.id = id;
    this.problem = problem;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError || (error instanceof Error && error.name === 'UserError');
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A wait (for a lock, for the machine) ended by SIGINT/SIGTERM: the command stops as interrupted. */
export class InterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

const FS_FIXES: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `no space left on the device holding ${p}; free some space (lenna gc removes unreferenced artifacts) or set LENNA_STORE to a folder on a larger disk, then run again`,
  EDQUOT: (p) => `disk quota exceeded writing ${p}; free some space (lenna gc removes unreferenced artifacts) or set LENNA_STORE to a folder with room, then run again`,
  EROFS: (p) => `${p} is on a read-only file system; set LENNA_STORE to a writable folder (status, show and report work on a read-only store as it is)`,
  EACCES: (p) => `permission denied on ${p}; give your user access to it (chmod/chown) or set LENNA_STORE to a store you own, then run again`,
  EPERM: (p) => `operation not permitted on ${p}; give your user access to it (chmod/chown) or set LENNA_STORE to a store you own, then run again`,
  EIO: (p) => `I/O error on ${p}; the disk may be failing: check it (dmesg, fsck), then run lenna verify`,
  EMFILE: (p) => `too many open files (at ${p}); raise the limit (ulimit -n 4096) or lower --jobs, then run again`,
  ENFILE: (p) => `the system ran out of file handles (at ${p}); close other programs or lower --jobs, then run again`,
};

/** The error code of a file system error (ENOSPC, EACCES, ...), if it is one. */
export function fsErrorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  return typeof code === 'string' && code in FS_FIXES ? code : undefined;
}

/**
 * A disk-full, read-only, permission or I/O error as the one sentence a user acts on (naming the
 * path and the fix), or undefined when `error` is not one of those.
 */
export function fsErrorAsUserError(error: unknown, fallbackPath = 'the store'): UserError | undefined {
  const code = fsErrorCode(error);
  if (!code) return undefined;
  const raw = typeof (error as { path?: unknown }).path === 'string' ? (error as { path: string }).path : fallbackPath;
  // A file written atomically fails at its temp name: name the file the user knows.
  const path = raw.replace(/\.tmp-~[^/]*$/, '');
  return new UserError(`${FS_FIXES[code](path)} (${code}).`);
}
