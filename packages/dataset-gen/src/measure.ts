import { measureExpectedLatency, timeForward } from '@lenna/compute';
import { sampledCells, type OpName } from '@lenna/nn';
import type { CellMeasurement, CellProtocol, Measurer } from './generate.js';
import { edgeCount, type BatchedCellShape } from '@lenna/latency-model';
import type { OpSite } from './shapes.js';
import { createSiteRunnable } from './single-op.js';

/** Cells and ops run as they would in an inference pass (BatchNorm on running statistics). */
const INFERENCE = { training: false };

/** Times real tfjs cells and ops with @lenna/nn's constructors on the current backend (call initBackend first). */
export function createTfjsMeasurer(): Measurer {
  return { timeOp, measureCell, warmUp };
}

async function measureCell(
  shape: BatchedCellShape,
  ops: readonly string[],
  _nodes: number,
  probs: number[][],
  protocol: CellProtocol,
): Promise<CellMeasurement> {
  const cells = sampledCells(shape, ops as OpName[], protocol.seed, INFERENCE);
  try {
    return await measureExpectedLatency(probs, cells.build, protocol);
  } finally {
    cells.dispose();
  }
}

/** Resets of the per-shape warm-up, whose timings are discarded. */
export const WARM_UP_RESETS = 3;

/**
 * The first cells of a process or of a new shape run slow (JIT tiers, kernels met for the first time,
 * allocator growth): a few untimed resets of a uniform cell keep that out of the first row.
 */
async function warmUp(shape: BatchedCellShape, ops: readonly string[], nodes: number, seed: number): Promise<void> {
  const uniform = Array.from({ length: edgeCount(nodes) }, () => ops.map(() => 1 / ops.length));
  const protocol: CellProtocol = { runs: 2, quantile: 0.5, warmup: 1, seed, threshold: 1, hits: WARM_UP_RESETS, maxResets: WARM_UP_RESETS };
  await measureCell(shape, ops, nodes, uniform, protocol);
}

async function timeOp(site: OpSite, opts: { runs: number; warmup: number; seed: number }): Promise<number[]> {
  // A discrete cell skips a `none` edge entirely, so it costs nothing there.
  if (site.op === 'none') return new Array<number>(opts.runs).fill(0);
  const op = createSiteRunnable(site, opts.seed);
  try {
    return (await timeForward(op.run, { runs: opts.runs, warmup: opts.warmup })).samplesMs;
  } finally {
    op.dispose();
  }
}
