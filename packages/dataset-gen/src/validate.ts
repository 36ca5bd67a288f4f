import { UserError } from '@lenna/core';
import type { BatchedCellShape } from '@lenna/latency-model';
import type { DatasetGenParams } from './params.js';

/** One-hot rows drop edges by putting all their mass on `none`, so they need `none` and one real op. */
export function checkOpSet(params: DatasetGenParams, largestOneHotFraction: number): void {
  if (largestOneHotFraction === 0) return;
  if (!params.ops.includes('none')) {
    throw new UserError(
      `dataset-gen params: ops ${JSON.stringify(params.ops)} lack 'none', which one-hot rows (oneHotFraction ${params.oneHotFraction}, evalOneHotFraction ${params.evalOneHotFraction}) put on dropped edges; add 'none' or set both to 0.`,
    );
  }
  if (params.ops.length < 2) {
    throw new UserError(`dataset-gen params: ops ["none"] has no real op for one-hot rows; add at least one op besides 'none'.`);
  }
}

/**
 * A factorized reduce (s0 after a reduction cell, skip_connect in a reduction cell) splits its channels
 * in two and halves the map, so those cells need an even `c` and, when reducing, an even `hw`.
 */
export function checkExplicitShapes(shapes: readonly BatchedCellShape[] | undefined): void {
  shapes?.forEach((s, i) => {
    if ((s.reduction || s.reductionPrev) && s.c % 2 !== 0) {
      throw new UserError(`dataset-gen params: shapes[${i}] has c ${s.c}, but a cell with reduction or reductionPrev needs an even c (a factorized reduce splits it in two).`);
    }
    if (s.reduction && s.hw % 2 !== 0) {
      throw new UserError(`dataset-gen params: shapes[${i}] is a reduction cell at odd hw ${s.hw}; a reduction cell needs an even input size.`);
    }
  });
}
