import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { createRng, deriveSeed, writeArrowFile, type Rng } from '@lenna/core';
import { cellEdges, DARTS_OPS, nodesForEdges } from '@lenna/nn';
import type { BatchedCellShape } from './cell.js';
import { datasetTable, readCellRows, shapeKey, type AdditiveTable, type DatasetTableRow } from './columns.js';
import { fitTransforms } from './transforms.js';

/**
 * A dataset table with dataset-gen's columns and a KNOWN latency function, for tests and benchmarks
 * (the real one measures cells). Latency = shape base cost + Σ p·op cost (what the additive LUT sees)
 * + a non-additive term the LUT misses (convs on edges into the same node share the cache badly),
 * 15% more for eval cells (which the LUT does not see either), with multiplicative noise.
 * lut_latency_ms is the additive part alone; its coefficients are the table's `lenna.additive` metadata.
 */
export interface SyntheticOptions {
  shapes?: BatchedCellShape[];
  rowsPerShape?: number;
  edges?: number;
  ops?: readonly string[];
  seed?: number;
  /** Relative noise (sd of a log-normal factor). */
  noise?: number;
}

export const SYNTHETIC_SHAPES: BatchedCellShape[] = [
  { reduction: false, reductionPrev: false, cPrevPrev: 16, cPrev: 16, c: 16, hw: 32, batch: 1, kind: 'search' },
  { reduction: true, reductionPrev: false, cPrevPrev: 16, cPrev: 16, c: 32, hw: 32, batch: 1, kind: 'search' },
  { reduction: false, reductionPrev: true, cPrevPrev: 16, cPrev: 32, c: 32, hw: 16, batch: 1, kind: 'search' },
  { reduction: false, reductionPrev: false, cPrevPrev: 32, cPrev: 32, c: 32, hw: 16, batch: 4, kind: 'eval' },
];

const EVAL_FACTOR = 1.15;

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

function drawProbs(rng: Rng, edges: number, ops: number): { probs: number[][]; oneHot: boolean; radius: number } {
  if (rng.next() < 0.2) {
    // A discrete cell: one op per edge, `none` on roughly half the edges.
    const probs = Array.from({ length: edges }, () => {
      const row = new Array<number>(ops).fill(0);
      row[rng.next() < 0.5 ? 0 : 1 + rng.int(ops - 1)] = 1;
      return row;
    });
    return { probs, oneHot: true, radius: 0 };
  }
  const radius = [0.01, 0.05, 0.1, 1, 5, 10][rng.int(6)];
  const probs = Array.from({ length: edges }, () => {
    const exps = Array.from({ length: ops }, () => Math.exp((2 * rng.next() - 1) * radius));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((x) => x / total);
  });
  return { probs, oneHot: false, radius };
}

function workOf(shape: BatchedCellShape): number {
  const hwOut = shape.reduction ? shape.hw / 2 : shape.hw;
  return (shape.c * shape.c * hwOut * hwOut * shape.batch) / 2 ** 18;
}

/** The additive part as dataset-gen records it: a cost per edge and op, and a constant. */
function additiveCoefficients(shape: BatchedCellShape, edges: number, ops: readonly string[]): { costs: number[]; constantMs: number } {
  const work = workOf(shape);
  const costs = Array.from({ length: edges }, () => ops.map((op) => OP_COST[op] * work)).flat();
  return { costs, constantMs: 0.05 + 0.3 * work * (shape.reductionPrev ? 1.2 : 1) };
}

function latency(shape: BatchedCellShape, probs: number[][], ops: readonly string[], edgeNode: readonly number[]): { additive: number; interaction: number } {
  const work = workOf(shape);
  const { costs, constantMs } = additiveCoefficients(shape, probs.length, ops);
  let additive = constantMs;
  const convPerNode = new Array<number>(Math.max(...edgeNode) + 1).fill(0);
  probs.forEach((row, e) => {
    row.forEach((p, o) => {
      additive += p * costs[e * ops.length + o];
      if (CONV_OPS.has(ops[o])) convPerNode[edgeNode[e]] += p;
    });
  });
  const interaction = convPerNode.reduce((sum, x) => sum + 0.8 * work * x * x, 0) + (shape.kind === 'eval' ? (EVAL_FACTOR - 1) * additive : 0);
  return { additive, interaction };
}

export function syntheticDatasetTable(options: SyntheticOptions = {}): Table {
  const { shapes = SYNTHETIC_SHAPES, rowsPerShape = 40, edges = 14, ops = DARTS_OPS, seed = 1, noise = 0.02 } = options;
  const rng = createRng(seed);
  const edgeNode = cellEdges(nodesForEdges(edges)).map((e) => e.node);
  const rows: DatasetTableRow[] = [];
  const table: AdditiveTable = {};
  for (const shape of shapes) {
    table[shapeKey(shape)] = additiveCoefficients(shape, edges, ops);
    for (let r = 0; r < rowsPerShape; r++) {
      const { probs, oneHot, radius } = drawProbs(rng, edges, ops.length);
      const { additive, interaction } = latency(shape, probs, ops, edgeNode);
      const latencyMs = (additive + interaction) * Math.exp(noise * rng.normal());
      rows.push({
        shape,
        probs,
        measured: { latency_ms: latencyMs, se_ms: noise * latencyMs, lut_latency_ms: additive, reference_ms: 1, resets: 3, converged: true, cv: noise, one_hot: oneHot, radius },
      });
    }
  }
  return datasetTable(rows, ops, edges, table);
}

/**
 * Folders laid out as preprocess's train, val, test and transforms outputs, from one synthetic draw per
 * split (seeded deriveSeed(seed, 'train' | 'val' | 'test')) with transforms fitted on train: a predictor's inputs for tests
 * and benchmarks. Returns each output's folder.
 */
export async function writeSyntheticSplits(
  dir: string,
  options: { rowsPerShape: { train: number; val: number; test: number }; seed: number; shapes?: BatchedCellShape[] },
): Promise<Record<'train' | 'val' | 'test' | 'transforms', string>> {
  const names = ['train', 'val', 'test'] as const;
  const tables = names.map((name) => syntheticDatasetTable({ shapes: options.shapes, rowsPerShape: options.rowsPerShape[name], seed: deriveSeed(options.seed, name) }));
  const folders = { train: join(dir, 'train'), val: join(dir, 'val'), test: join(dir, 'test'), transforms: join(dir, 'transforms') };
  for (const [i, name] of names.entries()) {
    await mkdir(folders[name], { recursive: true });
    await writeArrowFile(join(folders[name], `${name}.arrow`), tables[i]);
  }
  const { rows, ops } = readCellRows(tables[0], 'train');
  await mkdir(folders.transforms, { recursive: true });
  await writeFile(join(folders.transforms, 'transforms.json'), JSON.stringify(fitTransforms(rows, { ops })));
  return folders;
}
