import { timeForward, type TimingClock } from '@lenna/compute';
import type { CellRunnable, SampledCells } from '@lenna/nn';
import { cellFamily, networkSubject, opSubject, type BatchedCellShape, type NetworkConfig, type OpSite, type TimedSubject } from './subjects.js';

/** How a request is timed: `runs` timed forward passes after `warmup` untimed ones; `seed` draws the weights and inputs. */
export interface TimingRequest {
  warmup: number;
  runs: number;
  seed: number;
}

/** One concrete cell: `ops[choice[e]]` on edge e (nn's edge order; `none` leaves the edge out), built as `shape.kind` builds it. */
export interface CellTimingRequest extends TimingRequest {
  shape: BatchedCellShape;
  /** The op set (nn's op names) `choice` indexes. */
  ops: readonly string[];
  choice: readonly number[];
}

/** One op alone at one place of a cell (dataset-gen's op lookup table). */
export interface OpTimingRequest extends TimingRequest {
  site: OpSite;
}

/** A whole evaluation network's inference pass at `batch` (its weights: the seed's initial ones). */
export interface NetworkTimingRequest extends TimingRequest {
  network: NetworkConfig;
  batch: number;
}

/**
 * Times cells, op sites and networks on one target and returns the raw samples: `runs` numbers, the
 * milliseconds each forward pass took on the timer's clock (outputs read back each time, compute's
 * timeForward). Which cells to time, how samples become a label and when to stop is the caller's
 * protocol, in Node, whatever runs the cells. Requests and answers are plain JSON, so a browser page
 * serves them as they are.
 */
export interface LatencyTimer {
  /** What the samples count: elapsed time (`wall`) or this process's CPU time (`cpu`, Node only: a page has no CPU clock). */
  readonly clock: TimingClock;
  timeCell(request: CellTimingRequest): Promise<number[]>;
  /** `none` costs nothing (a discrete cell skips the edge): `runs` zeros. */
  timeOp(request: OpTimingRequest): Promise<number[]>;
  timeNetwork(request: NetworkTimingRequest): Promise<number[]>;
  /** Frees what the timer holds, and closes a browser; call once when done. */
  close(): Promise<void>;
}

/** Cells kept built between requests: a protocol asks about a shape's reference cell and a one-hot row's cell again and again. */
const CACHED_CELLS = 8;

/**
 * The timer of the tfjs backend in this JavaScript context: Node's for the `node` target, the page's
 * inside the browser (the page bundles this very module). The backend must be set up first. `clock`
 * defaults to wall time; `cpu` needs Node's process.cpuUsage.
 */
export function createLocalTimer(options: { clock?: TimingClock } = {}): LatencyTimer {
  const clock = options.clock ?? 'wall';
  const cells = cellCache(CACHED_CELLS);
  const time = async (run: () => ReturnType<TimedSubject['run']>, r: TimingRequest) => (await timeForward(run, { runs: r.runs, warmup: r.warmup, clock })).samplesMs;
  const timeOnce = async (subject: TimedSubject, r: TimingRequest) => {
    try {
      return await time(subject.run, r);
    } finally {
      subject.dispose();
    }
  };
  return {
    clock,
    timeCell: (r) => time(cells.get(r).run, r),
    timeOp: (r) => (r.site.op === 'none' ? Promise.resolve(new Array<number>(r.runs).fill(0)) : timeOnce(opSubject(r.site, r.seed), r)),
    timeNetwork: (r) => timeOnce(networkSubject(r.network, r.batch, r.seed), r),
    close: async () => cells.clear(),
  };
}

/** The cells of recent requests, built once: inputs per shape, op set and seed; the `size` most recently used cells. */
function cellCache(size: number) {
  const families = new Map<string, SampledCells>();
  const cells = new Map<string, CellRunnable>();
  const shapeId = (s: BatchedCellShape) => [s.kind, s.reduction, s.reductionPrev, s.cPrevPrev, s.cPrev, s.c, s.hw, s.batch].join(' ');
  return {
    get(r: CellTimingRequest): CellRunnable {
      const familyKey = JSON.stringify([shapeId(r.shape), r.ops, r.seed]);
      const key = JSON.stringify([familyKey, r.choice]);
      const cached = cells.get(key);
      if (cached) {
        // Most recently used last, so the oldest is the first to go.
        cells.delete(key);
        cells.set(key, cached);
        return cached;
      }
      if (!families.has(familyKey)) families.set(familyKey, cellFamily(r.shape, r.ops, r.seed));
      const cell = families.get(familyKey)!.build([...r.choice]);
      cells.set(key, cell);
      if (cells.size > size) {
        const [oldest, runnable] = cells.entries().next().value!;
        runnable.dispose();
        cells.delete(oldest);
      }
      return cell;
    },
    clear(): void {
      for (const cell of cells.values()) cell.dispose();
      for (const family of families.values()) family.dispose();
      cells.clear();
      families.clear();
    },
  };
}
