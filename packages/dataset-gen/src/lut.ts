import { Bool, Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { additiveMs, shapeKey, type AdditiveCoefficients, type AdditiveTable, type BatchedCellShape } from '@lenna/latency-model';
import { edgeSites, preprocessSites, type OpSite } from './shapes.js';
import { quantile } from './stats.js';

/** One measured op of the lookup table: the site and its timings (ms, after warm-up). */
export interface LutEntry extends OpSite {
  samplesMs: number[];
}

export function siteKey(s: OpSite): string {
  return [s.op, s.stride, s.cIn, s.c, s.hw, s.batch, s.kind].join(':');
}

/** Every op site the given shapes need, once each: each op at each edge geometry, and the preprocessing. */
export function lutSites(shapes: readonly BatchedCellShape[], nodes: number, ops: readonly string[]): OpSite[] {
  const sites = new Map<string, OpSite>();
  const add = (site: OpSite) => sites.set(siteKey(site), site);
  for (const shape of shapes) {
    for (const { stride, hw } of edgeSites(shape, nodes)) {
      for (const op of ops) add({ op, stride, cIn: shape.c, c: shape.c, hw, batch: shape.batch, kind: shape.kind });
    }
    preprocessSites(shape).forEach(add);
  }
  return [...sites.values()];
}

export class OpLookupTable {
  private readonly entries = new Map<string, LutEntry>();

  constructor(entries: readonly LutEntry[], private readonly statisticQuantile: number) {
    for (const entry of entries) this.entries.set(siteKey(entry), entry);
  }

  /** The op's latency: the same quantile of its timings that the cell protocol keeps. */
  latencyMs(site: OpSite): number {
    const entry = this.entries.get(siteKey(site));
    if (!entry) throw new Error(`the op lookup table has no entry for ${siteKey(site)}`);
    return quantile(entry.samplesMs, this.statisticQuantile);
  }

  list(): LutEntry[] {
    return [...this.entries.values()];
  }
}

/**
 * The additive hypothesis ("L(one block) = sum(L(op))") as a linear function of a shape's
 * probabilities: the cost of each op at each edge (edge-major) and the two preprocessing ops as the
 * constant. It ignores the node sums, the concatenation and any overlap between ops.
 */
export function additiveCoefficients(shape: BatchedCellShape, ops: readonly string[], nodes: number, lut: OpLookupTable): AdditiveCoefficients {
  const costs = edgeSites(shape, nodes).flatMap(({ stride, hw }) =>
    ops.map((op) => lut.latencyMs({ op, stride, cIn: shape.c, c: shape.c, hw, batch: shape.batch, kind: shape.kind })),
  );
  const constantMs = preprocessSites(shape).reduce((sum, site) => sum + lut.latencyMs(site), 0);
  return { costs, constantMs };
}

/** The coefficients of every shape, by shapeKey (the data set's `lenna.additive` metadata). */
export function additiveTable(shapes: readonly BatchedCellShape[], ops: readonly string[], nodes: number, lut: OpLookupTable): AdditiveTable {
  return Object.fromEntries(shapes.map((shape) => [shapeKey(shape), additiveCoefficients(shape, ops, nodes, lut)]));
}

/** Σ_edges Σ_ops p·LUT(op at that edge) plus the two preprocessing ops. */
export function additiveEstimateMs(
  shape: BatchedCellShape,
  probs: readonly (readonly number[])[],
  ops: readonly string[],
  nodes: number,
  lut: OpLookupTable,
): number {
  return additiveMs(additiveCoefficients(shape, ops, nodes, lut), probs.flat());
}

/** The additive estimate of one discrete cell (op `choice[e]` on edge e): the protocol's control variate. */
export function choiceAdditiveMs(coefficients: AdditiveCoefficients, choice: readonly number[], ops: number): number {
  return choice.reduce((sum, k, e) => sum + coefficients.costs[e * ops + k], coefficients.constantMs);
}

/** The `op-lut` output: one row per op site with median, quantiles and minimum in ms. */
export function opLutTable(entries: readonly LutEntry[]): Table {
  const col = <T>(f: (e: LutEntry) => T) => entries.map(f);
  const stat = (q: number) => col((e) => quantile(e.samplesMs, q));
  return new Table({
    op: vectorFromArray(col((e) => e.op), new Utf8()),
    preprocess: vectorFromArray(col((e) => e.op.startsWith('preprocess_')), new Bool()),
    stride: vectorFromArray(col((e) => e.stride), new Int32()),
    c_in: vectorFromArray(col((e) => e.cIn), new Int32()),
    c: vectorFromArray(col((e) => e.c), new Int32()),
    hw: vectorFromArray(col((e) => e.hw), new Int32()),
    batch: vectorFromArray(col((e) => e.batch), new Int32()),
    cell_kind: vectorFromArray(col((e) => e.kind), new Utf8()),
    median_ms: vectorFromArray(stat(0.5), new Float64()),
    q10_ms: vectorFromArray(stat(0.1), new Float64()),
    q40_ms: vectorFromArray(stat(0.4), new Float64()),
    q90_ms: vectorFromArray(stat(0.9), new Float64()),
    min_ms: vectorFromArray(col((e) => Math.min(...e.samplesMs)), new Float64()),
    runs: vectorFromArray(col((e) => e.samplesMs.length), new Int32()),
  });
}
