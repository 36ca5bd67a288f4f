import { Bool, Float32, Float64, Int32, Schema, Table, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { createRng, type Rng } from '@lenna/core';
import type { CellShape } from './cell.js';
import { DARTS_OPS, probColumnName } from './ops.js';

/**
 * A dataset table with dataset-gen's columns and a KNOWN latency function, for tests and benchmarks
 * (the real one measures cells). Latency = shape base cost + Σ p·op cost (what the additive LUT sees)
 * + a non-additive term the LUT misses (convs on edges into the same node share the cache badly), with
 * multiplicative noise. lut_latency_ms is the additive part alone.
 */
export interface SyntheticOptions {
  shapes?: CellShape[];
  rowsPerShape?: number;
  edges?: number;
  ops?: readonly string[];
  seed?: number;
  /** Relative noise (sd of a log-normal factor). */
  noise?: number;
}

export const SYNTHETIC_SHAPES: CellShape[] = [
  { blockType: 'normal', reductionPrev: false, cPrevPrev: 16, cIn: 16, c: 16, hw: 32, batch: 1 },
  { blockType: 'reduction', reductionPrev: false, cPrevPrev: 16, cIn: 16, c: 32, hw: 32, batch: 1 },
  { blockType: 'normal', reductionPrev: true, cPrevPrev: 16, cIn: 32, c: 32, hw: 16, batch: 1 },
  { blockType: 'normal', reductionPrev: false, cPrevPrev: 32, cIn: 32, c: 32, hw: 16, batch: 4 },
];

const OP_COST: Record<string, number> = {
  none: 0,
  max_pool_3x3: 0.9,
  avg_pool_3x3: 1.1,
  skip_connect: 0.15,
  sep_conv_3x3: 4,
  sep_conv_5x5: 6.5,
  dil_conv_3x3: 2.5,
  dil_conv_5x5: 3.5,
};
const CONV_OPS = new Set(['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']);

/** Edge e's target node in a DARTS cell (node i has 2 + i incoming edges). */
function edgeNode(edge: number): number {
  let node = 0;
  let first = 0;
  while (edge >= first + 2 + node) first += 2 + node++;
  return node;
}

function drawProbs(rng: Rng, edges: number, ops: number): number[][] {
  if (rng.next() < 0.2) {
    // A discrete cell: one op per edge, `none` on roughly half the edges.
    return Array.from({ length: edges }, () => {
      const row = new Array<number>(ops).fill(0);
      row[rng.next() < 0.5 ? 0 : 1 + rng.int(ops - 1)] = 1;
      return row;
    });
  }
  const radius = [0.01, 0.05, 0.1, 1, 5, 10][rng.int(6)];
  return Array.from({ length: edges }, () => {
    const exps = Array.from({ length: ops }, () => Math.exp((2 * rng.next() - 1) * radius));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((x) => x / total);
  });
}

function latency(shape: CellShape, probs: number[][], ops: readonly string[]): { additive: number; interaction: number } {
  const hwOut = shape.blockType === 'reduction' ? shape.hw / 2 : shape.hw;
  const work = (shape.c * shape.c * hwOut * hwOut * shape.batch) / 2 ** 18;
  let additive = 0.05 + 0.3 * work * (shape.reductionPrev ? 1.2 : 1);
  const convPerNode = [0, 0, 0, 0];
  probs.forEach((row, e) => {
    row.forEach((p, o) => {
      additive += p * OP_COST[ops[o]] * work;
      if (CONV_OPS.has(ops[o])) convPerNode[edgeNode(e)] += p;
    });
  });
  const interaction = convPerNode.reduce((sum, x) => sum + 0.8 * work * x * x, 0);
  return { additive, interaction };
}

export function syntheticDatasetTable(options: SyntheticOptions = {}): Table {
  const { shapes = SYNTHETIC_SHAPES, rowsPerShape = 40, edges = 14, ops = DARTS_OPS, seed = 1, noise = 0.02 } = options;
  const rng = createRng(seed);
  const cols: Record<string, unknown[]> = {};
  const push = (name: string, value: unknown) => (cols[name] ??= []).push(value);
  for (const shape of shapes) {
    for (let r = 0; r < rowsPerShape; r++) {
      const probs = drawProbs(rng, edges, ops.length);
      const { additive, interaction } = latency(shape, probs, ops);
      push('block_type', shape.blockType);
      push('reduction_prev', shape.reductionPrev);
      push('c_prev_prev', shape.cPrevPrev);
      push('c_in', shape.cIn);
      push('c', shape.c);
      push('hw', shape.hw);
      push('batch', shape.batch);
      probs.forEach((row, e) => row.forEach((p, o) => push(probColumnName(e, ops[o]), p)));
      push('latency_ms', (additive + interaction) * Math.exp(noise * rng.normal()));
      push('lut_latency_ms', additive);
      push('resets', 3);
      push('converged', true);
      push('cv', noise);
    }
  }
  const typeOf = (name: string): DataType => {
    if (name === 'block_type') return new Utf8();
    if (name === 'reduction_prev' || name === 'converged') return new Bool();
    if (name.startsWith('p_e')) return new Float32();
    if (['latency_ms', 'lut_latency_ms', 'cv'].includes(name)) return new Float64();
    return new Int32();
  };
  const vectors: Record<string, Vector> = {};
  for (const [name, values] of Object.entries(cols)) vectors[name] = vectorFromArray(values, typeOf(name));
  const table = new Table(vectors);
  const metadata = new Map([['lenna.ops', JSON.stringify(ops)]]);
  return new Table(new Schema(table.schema.fields, metadata), table.batches);
}
