import { timeForward } from '@lenna/compute';
import { cellSubject, networkSubject, opSubject, type CellRequest, type NetworkRequest, type OpSite, type TimedSubject } from './subjects.js';

/** How a subject is timed: `runs` timed forward passes after `warmup` untimed ones. */
export interface TimingRuns {
  runs: number;
  warmup: number;
}

/**
 * Times cells, op sites and networks on one target and returns the raw samples (ms per forward pass,
 * outputs read back each time, as compute's timeForward does). The measurement protocols (sampling,
 * quantiles, stopping rules) stay in Node and see only these samples, whichever target ran them.
 */
export interface LatencyTimer {
  timeCell(req: CellRequest, runs: TimingRuns): Promise<number[]>;
  timeOp(site: OpSite, seed: number, runs: TimingRuns): Promise<number[]>;
  timeNetwork(req: NetworkRequest, runs: TimingRuns): Promise<number[]>;
  /** Closes the browser of a browser timer; nothing to do for a local one. */
  close(): Promise<void>;
}

/**
 * The timer of the tfjs backend in this JavaScript context: Node's for the `node` target, the page's
 * inside the browser (the page bundles this very module). The backend must be set up first.
 */
export function createLocalTimer(): LatencyTimer {
  return {
    timeCell: (req, runs) => time(cellSubject(req), runs),
    // A discrete cell skips a `none` edge entirely, so it costs nothing there.
    timeOp: (site, seed, runs) => (site.op === 'none' ? Promise.resolve(new Array<number>(runs.runs).fill(0)) : time(opSubject(site, seed), runs)),
    timeNetwork: (req, runs) => time(networkSubject(req), runs),
    close: async () => undefined,
  };
}

async function time(subject: TimedSubject, runs: TimingRuns): Promise<number[]> {
  try {
    return (await timeForward(subject.run, { runs: runs.runs, warmup: runs.warmup })).samplesMs;
  } finally {
    subject.dispose();
  }
}
