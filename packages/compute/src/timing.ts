import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors.js';

export interface TimingStats {
  runs: number;
  minMs: number;
  medianMs: number;
  quantile: number;
  quantileMs: number;
  meanMs: number;
  /** Coefficient of variation: standard deviation over mean. */
  cv: number;
  samplesMs: number[];
}

/**
 * What a timing counts. `wall`: elapsed time. `cpu`: this process's CPU time (user + system, all its
 * threads), which leaves out the time other processes hold the core. It equals the latency only where
 * the backend computes on the calling thread alone (wasm with one thread, cpu); `clockFor` picks it there.
 */
export type TimingClock = 'wall' | 'cpu';

export interface TimingOptions {
  warmup?: number;
  runs?: number;
  quantile?: number;
  /** Default `wall`. */
  clock?: TimingClock;
}

/** The clock that measures a forward pass on this backend: CPU time where one thread does all the work, wall time elsewhere. */
export function clockFor(backend: { name: string; threads?: number }): TimingClock {
  if (backend.name === 'cpu') return 'cpu';
  if (backend.name === 'wasm' && (backend.threads ?? 1) === 1) return 'cpu';
  return 'wall';
}

/**
 * Times `fn` `runs` times after `warmup` untimed runs. Each run reads every output back, so the
 * time includes the work an asynchronous backend would otherwise still have queued, then disposes
 * the outputs (and everything `fn` made, through tidy).
 */
export async function timeForward(fn: () => tf.Tensor | tf.Tensor[], opts: TimingOptions = {}): Promise<TimingStats> {
  const warmup = checkCount('warmup', opts.warmup ?? 3, 0);
  const runs = checkCount('runs', opts.runs ?? 20, 1);
  const quantile = opts.quantile ?? 0.5;
  checkQuantile(quantile);
  const now = CLOCKS[opts.clock ?? 'wall'];
  if (!now) throw new UserError(`The timing option clock=${opts.clock} is not allowed; it must be 'wall' or 'cpu'.`);
  for (let i = 0; i < warmup; i++) await runOnce(fn, now);
  const samplesMs: number[] = [];
  for (let i = 0; i < runs; i++) samplesMs.push(await runOnce(fn, now));
  return summarise(samplesMs, quantile);
}

const CLOCKS: Record<TimingClock, () => number> = {
  wall: () => performance.now(),
  cpu: () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  },
};

async function runOnce(fn: () => tf.Tensor | tf.Tensor[], now: () => number): Promise<number> {
  const start = now();
  const out = tf.tidy(fn);
  const outputs = Array.isArray(out) ? out : [out];
  await Promise.all(outputs.map((t) => t.data()));
  const ms = now() - start;
  tf.dispose(outputs);
  return ms;
}

/** Order statistics of timing samples; the q-quantile interpolates linearly between ranks. */
export function summarise(samplesMs: number[], quantile: number): TimingStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const meanMs = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  const variance = sorted.reduce((s, v) => s + (v - meanMs) ** 2, 0) / sorted.length;
  return {
    runs: sorted.length,
    minMs: sorted[0],
    medianMs: quantileOf(sorted, 0.5),
    quantile,
    quantileMs: quantileOf(sorted, quantile),
    meanMs,
    cv: meanMs > 0 ? Math.sqrt(variance) / meanMs : 0,
    samplesMs: [...samplesMs],
  };
}

export function quantileOf(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new UserError(`The timing option ${name}=${value} is not allowed; it must be an integer ≥ ${min}.`);
  }
  return value;
}

export function checkQuantile(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new UserError(`The timing option quantile=${q} is not allowed; it must lie in [0, 1].`);
}
