import type * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { UserError } from './errors.js';
import { checkCount, checkQuantile, summarise, timeForward } from './timing.js';

export interface LatencyProtocolOptions {
  runs: number;
  quantile: number;
  threshold: number;
  hits: number;
  maxResets: number;
  warmup: number;
  seed: number;
}

/** LENNA's values (the README's measureExpectedLatency section says what each does). */
export const LENNA_PROTOCOL: LatencyProtocolOptions = Object.freeze({
  runs: 20,
  quantile: 0.4,
  threshold: 0.01,
  hits: 15,
  maxResets: 1000,
  warmup: 3,
  seed: 0,
});

export interface ExpectedLatency {
  meanMs: number;
  resets: number;
  converged: boolean;
  /** Coefficient of variation of the per-reset quantiles. */
  cv: number;
}

export interface Runnable {
  run: () => tf.Tensor | tf.Tensor[];
  dispose?: () => void;
}

/**
 * The expected latency of a stochastic cell under op probabilities `probs` ([edge][op]): each reset
 * samples one op per edge, builds and times that cell, keeps the q-quantile of its timings and adds it
 * to a running mean; it stops once the mean moved less than `threshold` (relative) `hits` resets in a
 * row, or after `maxResets`.
 */
export async function measureExpectedLatency(
  probs: number[][],
  build: (choice: number[]) => Runnable,
  opts: Partial<LatencyProtocolOptions> = {},
  onReset?: (resets: number, meanMs: number) => void,
): Promise<ExpectedLatency> {
  const o = resolveOptions(opts);
  return runLatencyProtocol(probs, (choice) => timeChoice(build(choice), o), o, onReset);
}

/**
 * The protocol's sampling and stopping rule, with the timing of one sampled cell (its q-quantile in ms)
 * left to `quantileMs`: `measureExpectedLatency` passes real timings, tests pass made-up ones.
 */
export async function runLatencyProtocol(
  probs: number[][],
  quantileMs: (choice: number[]) => Promise<number>,
  opts: Partial<LatencyProtocolOptions> = {},
  onReset?: (resets: number, meanMs: number) => void,
): Promise<ExpectedLatency> {
  const o = resolveOptions(opts);
  checkProbs(probs);
  const rng = createRng(o.seed);
  const quantiles: number[] = [];
  let mean = 0;
  let streak = 0;
  while (quantiles.length < o.maxResets && streak < o.hits) {
    const choice = probs.map((p) => rng.categorical(p));
    const q = await quantileMs(choice);
    quantiles.push(q);
    const previous = mean;
    mean += (q - mean) / quantiles.length;
    // The first reset has no previous mean to compare with, so it never counts as settled.
    const settled = quantiles.length > 1 && Math.abs(mean - previous) < o.threshold * Math.abs(previous);
    streak = settled ? streak + 1 : 0;
    onReset?.(quantiles.length, mean);
  }
  return {
    meanMs: mean,
    resets: quantiles.length,
    converged: streak >= o.hits,
    cv: summarise(quantiles, 0.5).cv,
  };
}

async function timeChoice(runnable: Runnable, o: LatencyProtocolOptions): Promise<number> {
  try {
    const stats = await timeForward(runnable.run, { warmup: o.warmup, runs: o.runs, quantile: o.quantile });
    return stats.quantileMs;
  } finally {
    runnable.dispose?.();
  }
}

function resolveOptions(opts: Partial<LatencyProtocolOptions>): LatencyProtocolOptions {
  const o = { ...LENNA_PROTOCOL, ...opts };
  checkCount('runs', o.runs, 1);
  checkCount('warmup', o.warmup, 0);
  checkCount('hits', o.hits, 1);
  checkCount('maxResets', o.maxResets, 1);
  checkCount('seed', o.seed, 0);
  checkQuantile(o.quantile);
  if (!(o.threshold > 0)) throw new UserError(`The latency option threshold=${o.threshold} is not allowed; it must be a positive fraction such as 0.01.`);
  return o;
}

function checkProbs(probs: number[][]): void {
  probs.forEach((p, edge) => {
    if (p.length === 0 || p.some((v) => !(v >= 0)) || !(p.reduce((s, v) => s + v, 0) > 0)) {
      throw new UserError(`The op probabilities of edge ${edge} (${JSON.stringify(p)}) are not valid; they must be non-negative with a positive sum.`);
    }
  });
}
