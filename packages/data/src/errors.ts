// One error class for every mistake a user can fix, so the CLI can print it and exit with status 2.
export { UserError } from '@lenna/core';
