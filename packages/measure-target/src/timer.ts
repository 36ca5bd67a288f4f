import { timeForward } from '@lenna/compute';
import { cellSubject, networkSubject, opSubject, type BatchedCellShape, type NetworkConfig, type OpSite, type TimedSubject } from './subjects.js';

/** How a request is timed: `runs` timed forward passes after `warmup` untimed ones; `seed` draws the weights and inputs. */
export interface TimingRequest {
  warmup: number;
  runs: number;
  seed: number;
}

/** One concrete cell: `ops[choice[e]]` on edge e (nn's edge order; `none` leaves the edge out). */
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
 * milliseconds each forward pass took (outputs read back each time, compute's timeForward). Which cells
 * to time, how samples become a label and when to stop is the caller's protocol, in Node, whatever
 * runs the cells. Requests and answers are plain JSON, so a browser page serves them as they are.
 */
export interface LatencyTimer {
  /** What the samples count: elapsed time (`wall`); a browser has no other clock. */
  readonly clock: 'wall' | 'cpu';
  timeCell(request: CellTimingRequest): Promise<number[]>;
  /** `none` costs nothing (a discrete cell skips the edge): `runs` zeros. */
  timeOp(request: OpTimingRequest): Promise<number[]>;
  timeNetwork(request: NetworkTimingRequest): Promise<number[]>;
  /** Frees what the timer holds, and closes a browser; call once when done. */
  close(): Promise<void>;
}

/**
 * The timer of the tfjs backend in this JavaScript context: Node's for the `node` target, the page's
 * inside the browser (the page bundles this very module). The backend must be set up first.
 */
export function createLocalTimer(): LatencyTimer {
  return {
    clock: 'wall',
    timeCell: (r) => time(cellSubject(r), r),
    timeOp: (r) => (r.site.op === 'none' ? Promise.resolve(new Array<number>(r.runs).fill(0)) : time(opSubject(r.site, r.seed), r)),
    timeNetwork: (r) => time(networkSubject(r.network, r.batch, r.seed), r),
    close: async () => undefined,
  };
}

async function time(subject: TimedSubject, r: TimingRequest): Promise<number[]> {
  try {
    return (await timeForward(subject.run, { runs: r.runs, warmup: r.warmup })).samplesMs;
  } finally {
    subject.dispose();
  }
}
