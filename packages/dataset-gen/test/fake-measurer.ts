import { createRng } from '@lenna/core';
import type { CellMeasurement, CellProtocol, Measurer } from '../src/generate.js';
import type { BatchedCellShape } from '@lenna/latency-model';
import type { OpSite } from '../src/shapes.js';

/** Invented per-op costs (ms) standing in for a backend, so plumbing tests are exact and fast. */
export const FAKE_COST: Record<string, number> = {
  none: 0,
  max_pool_3x3: 1,
  avg_pool_3x3: 1,
  skip_connect: 0.5,
  sep_conv_3x3: 6,
  sep_conv_5x5: 9,
  dil_conv_3x3: 4,
  dil_conv_5x5: 7,
  preprocess_relu_conv_bn: 2,
  preprocess_factorized_reduce: 3,
};

export interface FakeCall {
  shape: BatchedCellShape;
  probs: number[][];
  protocol: CellProtocol;
}

/** Samples ops from the row's probabilities like the real protocol; `offset` marks which run measured a row. */
export function fakeMeasurer(offset = 0): Measurer & { calls: FakeCall[]; opCalls: OpSite[] } {
  const calls: FakeCall[] = [];
  const opCalls: OpSite[] = [];
  return {
    calls,
    opCalls,
    async timeOp(site, opts) {
      opCalls.push(site);
      return Array.from({ length: opts.runs }, (_, i) => FAKE_COST[site.op] * (1 + 0.01 * i));
    },
    async measureCell(shape, ops, _nodes, probs, protocol): Promise<CellMeasurement> {
      calls.push({ shape, probs, protocol });
      const rng = createRng(protocol.seed);
      const resets = protocol.hits + 1;
      let total = 0;
      for (let r = 0; r < resets; r++) {
        for (const p of probs) total += FAKE_COST[ops[rng.categorical(p)]];
      }
      return { meanMs: offset + total / resets, resets, converged: true, cv: 0.05 };
    },
  };
}
