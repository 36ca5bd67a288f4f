import type * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { UserError } from './errors.js';
import { checkCount, checkQuantile, summarise, timeForward, type TimingClock } from './timing.js';

/**
 * When a measurement stops. `lenna`: LENNA's rule, the running mean moved less than `threshold`
 * (relative) for `hits` resets in a row. `control-variate`: the standard error of the control-variate
 * estimate (see runLatencyProtocol) fell to `seTarget` (relative), after at least `minResets`.
 */
export type StoppingRule = 'lenna' | 'control-variate';

export interface LatencyProtocolOptions {
  rule: StoppingRule;
  runs: number;
  quantile: number;
  /** `lenna` rule only. */
  threshold: number;
  hits: number;
  /** `control-variate` rule only: the relative standard error to stop at, and the fewest resets. */
  seTarget: number;
  minResets: number;
  maxResets: number;
  warmup: number;
  /** Seeds the op sampling (the gates) and nothing else. */
  seed: number;
  /** The clock of measureExpectedLatency's timings (timeForward's `clock`). */
  clock?: TimingClock;
}

/** LENNA's values (the README's measureExpectedLatency section says what each does). */
export const LENNA_PROTOCOL: LatencyProtocolOptions = Object.freeze({
  rule: 'lenna',
  runs: 20,
  quantile: 0.4,
  threshold: 0.01,
  hits: 15,
  seTarget: 0.02,
  minResets: 3,
  maxResets: 1000,
  warmup: 3,
  seed: 0,
});

export interface ExpectedLatency {
  meanMs: number;
  /** Standard error of meanMs (ms): of the residuals' mean under the control variate, of the plain mean otherwise. */
  seMs: number;
  resets: number;
  /** Stopped by its rule, not by maxResets. */
  converged: boolean;
  /** Coefficient of variation of the per-reset latencies. */
  cv: number;
}

/**
 * The control variate: an estimate of each sampled cell's latency whose expectation under `probs` is
 * known exactly (dataset-gen's additive op-table sum: its expectation is Σ p·LUT).
 */
export interface ControlVariate {
  ofChoice(choice: readonly number[]): number;
  expected: number;
}

export interface Runnable {
  run: () => tf.Tensor | tf.Tensor[];
  dispose?: () => void;
}

/**
 * The expected latency of a stochastic cell under op probabilities `probs` ([edge][op]): each reset
 * samples one op per edge, builds and times that cell and keeps the q-quantile of its timings;
 * runLatencyProtocol says how they are combined and when it stops.
 */
export async function measureExpectedLatency(
  probs: number[][],
  build: (choice: number[]) => Runnable,
  opts: Partial<LatencyProtocolOptions> = {},
  onReset?: (resets: number, meanMs: number) => void,
  controlVariate?: ControlVariate,
): Promise<ExpectedLatency> {
  const o = resolveOptions(opts);
  return runLatencyProtocol(probs, (choice) => timeChoice(build(choice), o), o, onReset, controlVariate);
}

/**
 * The protocol's sampling, estimate and stopping rule, with the latency of one sampled cell left to
 * `latencyMs` (real timings, or made-up ones in tests). Each reset draws one op per edge from the seeded
 * stream and asks for that cell's latency L.
 *
 * Estimate: with a control variate A (known E[A]), the mean of L − A plus E[A] — unbiased for E[L]
 * whatever A is, and with a standard error of sd(L − A)/√n, far below sd(L)/√n when A follows L
 * (a sampled cell's latency varies with its ops; its residual over the op-table sum much less). The
 * coefficient on A is 1, not a regression estimate: a fitted one would be biased at the few resets a
 * row takes, and 1 is right when the cell costs its ops plus a roughly constant rest. Without a
 * control variate (or under the `lenna` rule) the estimate is the plain mean.
 */
export async function runLatencyProtocol(
  probs: number[][],
  latencyMs: (choice: number[]) => Promise<number>,
  opts: Partial<LatencyProtocolOptions> = {},
  onReset?: (resets: number, meanMs: number) => void,
  controlVariate?: ControlVariate,
): Promise<ExpectedLatency> {
  const o = resolveOptions(opts);
  checkProbs(probs);
  const rng = createRng(o.seed);
  const cv = o.rule === 'control-variate' ? controlVariate : undefined;
  const latencies: number[] = [];
  const residuals: number[] = [];
  let streak = 0;
  let previous = 0;
  let stopped = false;
  while (latencies.length < o.maxResets && !stopped) {
    const choice = probs.map((p) => rng.categorical(p));
    const l = await latencyMs(choice);
    latencies.push(l);
    residuals.push(cv ? l - cv.ofChoice(choice) : l);
    const estimate = estimateOf(residuals, latencies, cv);
    if (o.rule === 'lenna') {
      // The first reset has no previous mean to compare with, so it never counts as settled.
      const settled = latencies.length > 1 && Math.abs(estimate.meanMs - previous) < o.threshold * Math.abs(previous);
      streak = settled ? streak + 1 : 0;
      stopped = streak >= o.hits;
      previous = estimate.meanMs;
    } else {
      stopped = latencies.length >= o.minResets && estimate.meanMs > 0 && estimate.seMs <= o.seTarget * estimate.meanMs;
    }
    onReset?.(latencies.length, estimate.meanMs);
  }
  return { ...estimateOf(residuals, latencies, cv), resets: latencies.length, converged: stopped, cv: summarise(latencies, 0.5).cv };
}

/**
 * The control-variate estimate and its standard error; the plain mean where there is no control
 * variate, or where the few residuals so far put the estimate at or below zero (an op table far off
 * the cells), so that a latency is always positive.
 */
function estimateOf(residuals: number[], latencies: number[], cv: ControlVariate | undefined): { meanMs: number; seMs: number } {
  if (cv) {
    const meanMs = mean(residuals) + cv.expected;
    if (meanMs > 0) return { meanMs, seMs: standardError(residuals) };
  }
  return { meanMs: mean(latencies), seMs: standardError(latencies) };
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation over √n; infinite for one value (nothing is known of the spread yet). */
export function standardError(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Infinity;
  const m = mean(values);
  const variance = values.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

async function timeChoice(runnable: Runnable, o: LatencyProtocolOptions): Promise<number> {
  try {
    const stats = await timeForward(runnable.run, { warmup: o.warmup, runs: o.runs, quantile: o.quantile, clock: o.clock });
    return stats.quantileMs;
  } finally {
    runnable.dispose?.();
  }
}

function resolveOptions(opts: Partial<LatencyProtocolOptions>): LatencyProtocolOptions {
  const o = { ...LENNA_PROTOCOL, ...opts };
  if (o.rule !== 'lenna' && o.rule !== 'control-variate') {
    throw new UserError(`The latency option rule='${o.rule}' is not allowed; it must be 'lenna' or 'control-variate'.`);
  }
  checkCount('runs', o.runs, 1);
  checkCount('warmup', o.warmup, 0);
  checkCount('hits', o.hits, 1);
  checkCount('minResets', o.minResets, 2);
  checkCount('maxResets', o.maxResets, 1);
  checkCount('seed', o.seed, 0);
  checkQuantile(o.quantile);
  if (!(o.threshold > 0)) throw new UserError(`The latency option threshold=${o.threshold} is not allowed; it must be a positive fraction such as 0.01.`);
  if (!(o.seTarget > 0)) throw new UserError(`The latency option seTarget=${o.seTarget} is not allowed; it must be a positive fraction such as 0.02.`);
  return o;
}

function checkProbs(probs: number[][]): void {
  probs.forEach((p, edge) => {
    if (p.length === 0 || p.some((v) => !(v >= 0)) || !(p.reduce((s, v) => s + v, 0) > 0)) {
      throw new UserError(`The op probabilities of edge ${edge} (${JSON.stringify(p)}) are not valid; they must be non-negative with a positive sum.`);
    }
  });
}
