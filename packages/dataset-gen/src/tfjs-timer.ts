import { clockFor, initBackend, timeForward, type TimingClock } from '@lenna/compute';
import { sampledCells, type CellRunnable, type OpName, type SampledCells } from '@lenna/nn';
import { shapeKey } from '@lenna/latency-model';
import { createSiteRunnable } from './single-op.js';
import type { CellTimingRequest, LatencyTimer, OpTimingRequest } from './timer.js';

/** Cells kept built between requests: a shape's reference cell and the cell of a one-hot row are asked about again and again. */
const CACHED_CELLS = 8;

/**
 * The LatencyTimer on tfjs in this Node process (initBackend's backend; call it first). `clock`:
 * `auto` times CPU time where one thread computes (wasm, cpu) and wall time elsewhere (compute's clockFor).
 */
export async function createTfjsTimer(options: { clock?: 'auto' | TimingClock } = {}): Promise<LatencyTimer> {
  const clock = options.clock === undefined || options.clock === 'auto' ? clockFor(await initBackend({ quiet: true })) : options.clock;
  const inputs = new Map<string, SampledCells>();
  const cells = new Map<string, CellRunnable>();

  const cellFor = (request: CellTimingRequest): CellRunnable => {
    const key = JSON.stringify([shapeKey(request.shape), request.ops, request.choice, request.seed]);
    const cached = cells.get(key);
    if (cached) {
      // Most recently used last, so the oldest is the first to go.
      cells.delete(key);
      cells.set(key, cached);
      return cached;
    }
    const inputKey = JSON.stringify([shapeKey(request.shape), request.ops, request.seed]);
    if (!inputs.has(inputKey)) inputs.set(inputKey, sampledCells(request.shape, request.ops as OpName[], request.seed, { training: false, kind: request.shape.kind }));
    const cell = inputs.get(inputKey)!.build([...request.choice]);
    cells.set(key, cell);
    if (cells.size > CACHED_CELLS) {
      const [oldest, runnable] = cells.entries().next().value!;
      runnable.dispose();
      cells.delete(oldest);
    }
    return cell;
  };

  return {
    clock,
    async timeCell(request) {
      const cell = cellFor(request);
      return (await timeForward(cell.run, { warmup: request.warmup, runs: request.runs, clock })).samplesMs;
    },
    async timeOp(request: OpTimingRequest) {
      const op = createSiteRunnable(request.site, request.seed);
      try {
        return (await timeForward(op.run, { warmup: request.warmup, runs: request.runs, clock })).samplesMs;
      } finally {
        op.dispose();
      }
    },
    async close() {
      for (const cell of cells.values()) cell.dispose();
      for (const input of inputs.values()) input.dispose();
      cells.clear();
      inputs.clear();
    },
  };
}
