import { createRng, deriveSeed, type Rng } from '@lenna/core';
import { cellEdges } from '@lenna/latency-model';

export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** softmax(α) per edge with α ~ U[-r, r] (LENNA's generator). */
export function softmaxProbabilities(rng: Rng, edges: number, ops: number, radius: number): number[][] {
  return Array.from({ length: edges }, () =>
    softmax(Array.from({ length: ops }, () => (2 * rng.next() - 1) * radius)),
  );
}

/**
 * A discrete cell as a genotype describes it: each node keeps 2 distinct incoming edges, each with one
 * non-`none` op drawn uniformly; every other edge is `none`. Returned as one-hot rows over `ops`.
 */
export function oneHotProbabilities(rng: Rng, nodes: number, ops: readonly string[]): number[][] {
  const noneIndex = ops.indexOf('none');
  const realOps = ops.map((_, i) => i).filter((i) => i !== noneIndex);
  if (noneIndex < 0 || realOps.length === 0) {
    throw new Error('one-hot rows need the op set to hold `none` and at least one other op');
  }
  const edges = cellEdges(nodes);
  const choice = edges.map(() => noneIndex);
  for (let node = 0; node < nodes; node++) {
    const incoming = edges.flatMap((e, index) => (e.node === node ? [index] : []));
    for (const edge of rng.shuffle(incoming).slice(0, 2)) choice[edge] = realOps[rng.int(realOps.length)];
  }
  return choice.map((op) => ops.map((_, i) => (i === op ? 1 : 0)));
}

/** Which of a shape's rows are one-hot: spread evenly, round(fraction·k) among the first k rows. */
export function isOneHotRow(rowInShape: number, fraction: number): boolean {
  return Math.round((rowInShape + 1) * fraction) > Math.round(rowInShape * fraction);
}

export interface RowPlan {
  index: number;
  shapeIndex: number;
  oneHot: boolean;
  /** Radius of α's uniform range; 0 for one-hot rows. */
  radius: number;
  /** [edge][op] probabilities: exactly the distribution the measured cells are sampled from. */
  probs: number[][];
  /** Seed of the row's α (or its one-hot cell). */
  seed: number;
  /**
   * Seed of the op sampling while measuring the row: its own stream. Drawn from the α's stream, the
   * first resets' gates would be the very numbers that set the row's probabilities, a sampling error
   * that is a function of the features (a model could learn it).
   */
  gateSeed: number;
}

export interface RowPlanOptions {
  seed: number;
  nodes: number;
  ops: readonly string[];
  radii: readonly number[];
  rowsPerShape: number;
  /** The share of one-hot rows of each shape, by shape index. */
  oneHotFractions: readonly number[];
}

/** Row `index` of the plan: rows are shape-major, `rowsPerShape` per shape. Pure in (options, index). */
export function planRow(options: RowPlanOptions, index: number): RowPlan {
  const shapeIndex = Math.floor(index / options.rowsPerShape);
  const oneHot = isOneHotRow(index % options.rowsPerShape, options.oneHotFractions[shapeIndex]);
  // From the run's seed and the row index alone: row i is the same row in one run or after a resume.
  const seed = deriveSeed(options.seed, `row ${index}`);
  const gateSeed = deriveSeed(options.seed, `gates ${index}`);
  const rng = createRng(seed);
  if (oneHot) {
    return { index, shapeIndex, oneHot, radius: 0, probs: oneHotProbabilities(rng, options.nodes, options.ops), seed, gateSeed };
  }
  const radius = options.radii[rng.int(options.radii.length)];
  const edges = cellEdges(options.nodes).length;
  return { index, shapeIndex, oneHot, radius, probs: softmaxProbabilities(rng, edges, options.ops.length, radius), seed, gateSeed };
}

/**
 * The order rows are measured in: a seeded shuffle of all of them, so a slow spell of the machine
 * spreads over every shape instead of falling on the shapes measured at that time.
 */
export function measurementOrder(total: number, seed: number): number[] {
  return createRng(deriveSeed(seed, 'row order')).shuffle(Array.from({ length: total }, (_, i) => i));
}
