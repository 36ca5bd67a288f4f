import { runLatencyProtocol, summarise } from '@lenna/compute';
import { createLocalTimer, type LatencyTimer } from '@lenna/measure-target';
import type { CellMeasurement, CellProtocol, Measurer } from './generate.js';
import { edgeCount, type BatchedCellShape } from '@lenna/latency-model';
import type { OpSite } from './shapes.js';

/** Times real tfjs cells and ops in this process, on the current backend (call initBackend first). */
export function createTfjsMeasurer(): Measurer {
  return createTimerMeasurer(createLocalTimer());
}

/**
 * LENNA's protocol over a target's timer: the sampling and the stopping rule run here, in Node; each
 * sampled cell is built with nn's sampledCells and timed where the timer runs (this process or a
 * browser page), which hands back its raw samples.
 */
export function createTimerMeasurer(timer: LatencyTimer): Measurer {
  const measureCell = async (shape: BatchedCellShape, ops: readonly string[], _nodes: number, probs: number[][], protocol: CellProtocol): Promise<CellMeasurement> => {
    const { runs, warmup, seed } = protocol;
    const quantileMs = async (choice: number[]) => summarise(await timer.timeCell({ shape, ops, choice, seed, runs, warmup }), protocol.quantile).quantileMs;
    return runLatencyProtocol(probs, quantileMs, protocol);
  };

  /**
   * The first cells of a process or of a new shape run slow (JIT tiers, kernels met for the first time,
   * allocator growth): a few untimed resets of a uniform cell keep that out of the first row.
   */
  const warmUp = async (shape: BatchedCellShape, ops: readonly string[], nodes: number, seed: number): Promise<void> => {
    const uniform = Array.from({ length: edgeCount(nodes) }, () => ops.map(() => 1 / ops.length));
    const protocol: CellProtocol = { runs: 2, quantile: 0.5, warmup: 1, seed, threshold: 1, hits: WARM_UP_RESETS, maxResets: WARM_UP_RESETS };
    await measureCell(shape, ops, nodes, uniform, protocol);
  };

  const timeOp = (site: OpSite, opts: { runs: number; warmup: number; seed: number }) => timer.timeOp({ site, ...opts });

  return { timeOp, measureCell, warmUp };
}

/** Resets of the per-shape warm-up, whose timings are discarded. */
export const WARM_UP_RESETS = 3;
