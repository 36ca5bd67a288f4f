/** A mistake the user can fix: core's class, so the CLI recognises it (message, exit status 2). */
export { UserError } from '@lenna/core';
