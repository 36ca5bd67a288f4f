// One error type for a user's mistakes across LENNA: the CLI maps it to exit status 2.
export { UserError } from '@lenna/core';
