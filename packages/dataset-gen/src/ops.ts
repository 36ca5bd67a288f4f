import { DARTS_OPS } from '@lenna/nn';

/** The DARTS op catalogue in its fixed order, as @lenna/nn defines it. */
export const DARTS_OP_NAMES = DARTS_OPS;

/** The two input preprocessing ops, named as they appear in the op lookup table (measure-target times them). */
export { PREPROCESS_FACTORIZED_REDUCE, PREPROCESS_RELU_CONV_BN } from '@lenna/measure-target';
