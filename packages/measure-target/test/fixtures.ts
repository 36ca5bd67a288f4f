import type { CellTimingRequest } from '../src/index.js';

const OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'];

/** A reduction cell after a reduction, every op on some edge: small enough to build in a test. */
export const TINY_CELL: CellTimingRequest = {
  shape: { reduction: true, reductionPrev: true, cPrevPrev: 4, cPrev: 8, c: 4, hw: 4, batch: 2, kind: 'search' },
  ops: OPS,
  choice: [4, 5, 6, 7, 1, 2, 3, 0, 4, 6, 7, 5, 1, 2],
  seed: 3,
  warmup: 1,
  runs: 3,
};
