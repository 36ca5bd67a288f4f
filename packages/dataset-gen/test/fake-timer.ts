import type { LatencyTimer, CellTimingRequest, OpTimingRequest } from '../src/timer.js';
import { preprocessSites } from '../src/shapes.js';

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

/** A cell's true cost under the fake backend: its ops, its preprocessing, and `extra` (what an op table does not see). */
export function fakeCellMs(request: Pick<CellTimingRequest, 'shape' | 'ops' | 'choice'>, extra = 0): number {
  const ops = request.choice.reduce((sum, k) => sum + FAKE_COST[request.ops[k]], 0);
  const pre = preprocessSites(request.shape).reduce((sum, site) => sum + FAKE_COST[site.op], 0);
  return ops + pre + extra;
}

export interface FakeTimerOptions {
  /** Added to every cell's latency: an overhead the op table misses. */
  extraMs?: number;
  /** The machine's speed over time: every timing is multiplied by slowdown(number of timings asked so far). */
  slowdown?: (call: number) => number;
  /** Added to every timing (e.g. 1000 to tell which run measured a row). */
  offsetMs?: number;
}

/** A LatencyTimer over invented costs: each run takes the cell's (or op's) cost, times the slowdown, 1% more per run. */
export function fakeTimer(options: FakeTimerOptions = {}): LatencyTimer & { cells: CellTimingRequest[]; ops: OpTimingRequest[] } {
  const cells: CellTimingRequest[] = [];
  const ops: OpTimingRequest[] = [];
  let call = 0;
  const runsOf = (ms: number, runs: number) => {
    const factor = options.slowdown?.(call++) ?? 1;
    return Array.from({ length: runs }, (_, i) => ms * factor * (1 + 0.01 * i) + (options.offsetMs ?? 0));
  };
  return {
    clock: 'wall',
    cells,
    ops,
    async timeCell(request) {
      cells.push(request);
      return runsOf(fakeCellMs(request, options.extraMs), request.runs);
    },
    async timeOp(request) {
      if (request.site.op === 'none') throw new Error('the timer was asked about none');
      ops.push(request);
      return runsOf(FAKE_COST[request.site.op], request.runs);
    },
  };
}
