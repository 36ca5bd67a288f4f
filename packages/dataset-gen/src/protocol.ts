import { createRng, deriveSeed } from '@lenna/core';
import { runLatencyProtocol, type ExpectedLatency } from '@lenna/compute';
import { additiveMs, edgeCount, shapeKey, type AdditiveCoefficients, type BatchedCellShape } from '@lenna/latency-model';
import { choiceAdditiveMs } from './lut.js';
import { oneHotProbabilities } from './sampling.js';
import { quantile } from './stats.js';
import type { LatencyTimer } from './timer.js';

/** How a row is measured (dataset-gen's params of the same names). */
export interface ProtocolSettings {
  protocol: 'control-variate' | 'lenna';
  seTarget: number;
  minResets: number;
  maxResets: number;
  threshold: number;
  hits: number;
  runs: number;
  quantile: number;
  warmup: number;
}

/** A shape's reference cell: a fixed cell every timing of a row of that shape is expressed against. */
export interface ReferenceCell {
  choice: number[];
  /** Its latency: the `quantile` of its calibration visits' latencies. */
  ms: number;
}

/** Visits of a reference cell before its calibration counts (first runs of a process or a shape are slow). */
export const REFERENCE_WARM_UP_VISITS = 3;

/**
 * The reference cell of a shape, drawn from its own stream: for search shapes one op per edge
 * uniformly (a cell like the rows' sampled ones), for eval shapes a genotype-like cell (two edges per
 * node), like their rows.
 */
export function referenceChoice(shape: BatchedCellShape, ops: readonly string[], nodes: number, seed: number): number[] {
  const rng = createRng(deriveSeed(seed, `reference ${shapeKey(shape)}`));
  if (shape.kind === 'eval' && ops.includes('none') && ops.length > 1) return oneHotProbabilities(rng, nodes, ops).map((p) => p.indexOf(1));
  return Array.from({ length: edgeCount(nodes) }, () => rng.int(ops.length));
}

/** One visit to a cell: `warmup` untimed runs, `runs` timed ones, their `quantile` (the minimum at 0). */
async function visit(timer: LatencyTimer, shape: BatchedCellShape, ops: readonly string[], choice: readonly number[], s: ProtocolSettings, seed: number): Promise<number> {
  return quantile(await timer.timeCell({ shape, ops, choice, warmup: s.warmup, runs: s.runs, seed }), s.quantile);
}

/** The reference cell's latency: after a few untimed visits, the `quantile` of `visits` visits. */
export async function calibrateReference(
  timer: LatencyTimer,
  shape: BatchedCellShape,
  ops: readonly string[],
  choice: number[],
  s: ProtocolSettings,
  visits: number,
  seed: number,
): Promise<ReferenceCell> {
  for (let v = 0; v < REFERENCE_WARM_UP_VISITS; v++) await visit(timer, shape, ops, choice, s, seed);
  const latencies: number[] = [];
  for (let v = 0; v < visits; v++) latencies.push(await visit(timer, shape, ops, choice, s, seed));
  return { choice, ms: quantile(latencies, s.quantile) };
}

export interface RowToMeasure {
  shape: BatchedCellShape;
  probs: number[][];
  /** Seeds the op sampling (the row's own stream). */
  gateSeed: number;
}

/**
 * The expected latency of one row: compute's protocol over this timer. Each reset samples a cell from
 * the row's probabilities; with a reference, it times the reference cell, then the sampled cell, and
 * takes the sampled cell's latency as (its visit / the reference's visit) · reference ms, so a change
 * of the machine's speed between rows (or within one) cancels. The additive estimate of the sampled
 * cell is the control variate (its expectation under the probabilities is exact from the op table).
 */
export async function measureRow(
  timer: LatencyTimer,
  row: RowToMeasure,
  ops: readonly string[],
  coefficients: AdditiveCoefficients,
  reference: ReferenceCell | undefined,
  s: ProtocolSettings,
  weightsSeed: number,
): Promise<ExpectedLatency> {
  const latencyMs = async (choice: number[]): Promise<number> => {
    if (!reference) return visit(timer, row.shape, ops, choice, s, weightsSeed);
    const referenceVisit = await visit(timer, row.shape, ops, reference.choice, s, weightsSeed);
    const cellVisit = await visit(timer, row.shape, ops, choice, s, weightsSeed);
    return (cellVisit / referenceVisit) * reference.ms;
  };
  const controlVariate = {
    ofChoice: (choice: readonly number[]) => choiceAdditiveMs(coefficients, choice, ops.length),
    expected: additiveMs(coefficients, row.probs.flat()),
  };
  const rule = s.protocol;
  return runLatencyProtocol(row.probs, latencyMs, { ...s, rule, seed: row.gateSeed }, undefined, controlVariate);
}
