import type { BatchedCellShape } from '@lenna/latency-model';
import type { OpSite } from './shapes.js';

/**
 * The one thing dataset-gen asks of a backend: how long a concrete cell or a single op takes. It is
 * kept this small on purpose. Which cells to time, in what order, against which reference cell, how
 * the timings become a label and when to stop is dataset-gen's protocol (protocol.ts, generate.ts),
 * which runs in Node over this interface whatever executes the cells: `createTfjsTimer` (tfjs in this
 * Node process, tfjs-timer.ts) or a timer that runs the same requests in a browser.
 *
 * Requests and answers are plain JSON, so an implementation may serve them in another process. An
 * implementation builds each cell and op with @lenna/nn's constructors (createDiscreteCell with the
 * request's kind; createOp, reluConvBn, factorizedReduce as single-op.ts does), runs it in inference
 * mode on inputs drawn from `seed`, reads every output back after each run, and returns one number
 * per timed run: the milliseconds that run took on its clock. It may cache what it built between
 * requests (the protocol asks about the same reference cell again and again).
 */
export interface LatencyTimer {
  /** What the timings count: `wall` (elapsed) or `cpu` (the process's CPU time). Recorded with the data set. */
  readonly clock: 'wall' | 'cpu';
  /** Times one concrete cell `runs` times after `warmup` untimed runs; `runs` numbers, ms. */
  timeCell(request: CellTimingRequest): Promise<number[]>;
  /** Times one op alone `runs` times after `warmup` untimed runs; `runs` numbers, ms. Never asked about `none`. */
  timeOp(request: OpTimingRequest): Promise<number[]>;
  /** Frees what the timer holds; called once when a run ends, failed or not. */
  close?(): Promise<void>;
}

export interface CellTimingRequest {
  /** The cell's shape at its batch size, and its kind: built as the search (`search`) or the evaluation network (`eval`) builds its cells. */
  shape: BatchedCellShape;
  /** The op set (nn's op names); `choice[e]` indexes it for edge e (nn's edge order), `none` leaves the edge out. */
  ops: readonly string[];
  choice: readonly number[];
  warmup: number;
  runs: number;
  /** Seeds the cell's weights and its two inputs. */
  seed: number;
}

export interface OpTimingRequest {
  /** The op, its stride, channels, input size, batch and kind (see OpSite). */
  site: OpSite;
  warmup: number;
  runs: number;
  /** Seeds the op's weights and its input. */
  seed: number;
}
