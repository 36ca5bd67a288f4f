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
  constructor(id: string, problem: string) {
    super(`artifact ${id} is corrupt: ${problem}`);
    this.name = 'CorruptArtifactError';
    this.id = id;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError || (error instanceof Error && error.name === 'UserError');
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
