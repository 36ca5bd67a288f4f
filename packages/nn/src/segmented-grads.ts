import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from './layers.js';
import type { CellShape } from './shapes.js';

/** One cell as the cell-by-cell backward pass sees it. */
export interface CellSegment {
  /** `recompute` is true when the pass is repeated for its gradient (same randomness, no BN statistics). */
  run(s0: tf.Tensor4D, s1: tf.Tensor4D, ctx: ForwardContext, recompute: boolean): tf.Tensor4D;
  vars: tf.Variable[];
  /** Another input of the cell whose gradient is wanted (the supernet's softmax(α)). */
  extra?: tf.Tensor;
}

export interface SegmentedNetwork {
  stem: { run(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D; vars: tf.Variable[] };
  cells: CellSegment[];
  /** The loss from the cell outputs it reads (the last cell's, and an auxiliary head's). */
  head: { reads: number[]; run(outputs: tf.Tensor4D[], ctx: ForwardContext): tf.Scalar; vars: tf.Variable[] };
}

export interface SegmentedResult {
  loss: number;
  /** Keyed by variable name. */
  grads: tf.NamedTensorMap;
  /** Gradient of each cell's `extra` input, summed over the cells sharing it. */
  extraGrads: Map<tf.Tensor, tf.Tensor>;
}

/** Gradients flowing into each kept tensor (a cell's input or output), summed as they arrive. */
export class GradientSums {
  private readonly sums = new Map<tf.Tensor, tf.Tensor>();
  add(key: tf.Tensor, g: tf.Tensor | undefined | null): void {
    if (!g) return;
    const prev = this.sums.get(key);
    if (!prev) return void this.sums.set(key, g);
    this.sums.set(key, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  }
  take(key: tf.Tensor): tf.Tensor | undefined {
    const g = this.sums.get(key);
    this.sums.delete(key);
    return g;
  }
  entries(): Map<tf.Tensor, tf.Tensor> {
    return new Map(this.sums);
  }
  dispose(): void {
    for (const g of this.sums.values()) g.dispose();
    this.sums.clear();
  }
}

const ctxFor = (recompute: boolean): ForwardContext => ({ training: true, relus: new Map(), updateStats: !recompute });

/**
 * tfjs keeps every saved tensor and every intermediate gradient of a tape until the whole backward
 * pass ends, which for the supernet at batch 32 exceeds wasm's 4 GB. So: run the forward pass
 * without a tape, keeping only each cell's inputs and output; then, from the loss back to the stem,
 * recompute one cell at a time under its own tape and backpropagate the gradient of its output.
 * The last `tapedTail` cells (the smallest maps) run once, under one tape with the head, instead of
 * twice: a recomputed forward pass is about a third of a step.
 * `weights` false skips the variables' gradients (the α step needs only the extras').
 */
export function segmentedGradients(net: SegmentedNetwork, x: tf.Tensor4D, weights: boolean, tapedTail = 0): SegmentedResult {
  const engine = tf.engine();
  const n = net.cells.length;
  const first = n - Math.max(0, Math.min(tapedTail, n));
  const stemOut = tf.tidy(() => net.stem.run(x, ctxFor(false)));
  const inputs: [tf.Tensor4D, tf.Tensor4D][] = [];
  const outputs: tf.Tensor4D[] = [];
  let [s0, s1] = [stemOut, stemOut];
  for (const cell of net.cells.slice(0, first)) {
    const out = tf.tidy(() => cell.run(s0, s1, ctxFor(false), false));
    inputs.push([s0, s1]);
    outputs.push(out);
    [s0, s1] = [s1, out];
  }

  const grads: tf.NamedTensorMap = {};
  const setVarGrads = (vars: tf.Variable[], gs: (tf.Tensor | undefined)[]) => vars.forEach((v, i) => gs[i] && (grads[v.name] = gs[i]!));
  const states = new GradientSums();
  const extras = new GradientSums();

  // The taped tail and the head: gradients reach the tail's inputs and any earlier output the head reads.
  const tailCells = net.cells.slice(first);
  const read = [...new Set([s0, s1, ...net.head.reads.filter((i) => i < first).map((i) => outputs[i])])];
  const tailExtras = [...new Set(tailCells.flatMap((c) => (c.extra ? [c.extra] : [])))];
  const tailVars = weights ? [...tailCells.flatMap((c) => c.vars), ...net.head.vars] : [];
  const runTail = () => {
    const outs = outputs.slice();
    let [a, b] = [s0, s1];
    tailCells.forEach((cell, j) => {
      outs[first + j] = cell.run(a, b, ctxFor(false), false);
      [a, b] = [b, outs[first + j]];
    });
    return net.head.run(outs, ctxFor(false));
  };
  const head = engine.gradients(runTail, [...read, ...tailExtras, ...tailVars], undefined, true);
  const loss = head.value.dataSync()[0];
  head.value.dispose();
  read.forEach((t, i) => states.add(t, head.grads[i]));
  tailExtras.forEach((t, i) => extras.add(t, head.grads[read.length + i]));
  setVarGrads(tailVars, head.grads.slice(read.length + tailExtras.length));

  for (let i = first - 1; i >= 0; i--) {
    const dy = states.take(outputs[i]);
    if (!dy) continue;
    const cell = net.cells[i];
    const [a, b] = inputs[i];
    // The first cell reads the stem output twice; tfjs then returns its summed gradient once.
    const cellInputs = a === b ? [a] : [a, b];
    const extra = cell.extra ? [cell.extra] : [];
    const vars = weights ? cell.vars : [];
    const r = engine.gradients(() => cell.run(a, b, ctxFor(true), true), [...cellInputs, ...extra, ...vars], dy as tf.Tensor4D, true);
    r.value.dispose();
    dy.dispose();
    cellInputs.forEach((s, j) => states.add(s, r.grads[j]));
    if (cell.extra) extras.add(cell.extra, r.grads[cellInputs.length]);
    setVarGrads(vars, r.grads.slice(cellInputs.length + extra.length));
  }

  const dStem = states.take(stemOut);
  if (weights && dStem) {
    const r = engine.gradients(() => net.stem.run(x, ctxFor(true)), net.stem.vars, dStem as tf.Tensor4D, true);
    r.value.dispose();
    setVarGrads(net.stem.vars, r.grads);
  }
  dStem?.dispose();
  states.dispose();
  tf.dispose([stemOut, ...outputs]);
  return { loss, grads, extraGrads: extras.entries() };
}

/** Holds the whole reference supernet (C 8, 5 cells, batch 32) inside wasm's 4 GB. */
export const DEFAULT_TAPE_BUDGET_BYTES = 1.5e9;

/**
 * Tape bytes per element of a cell's input state per edge, measured on wasm at the reference
 * configuration (whole-network tape ≈ 1.33 GB over 13.4 M element-edges), rounded up.
 */
const TAPE_BYTES_PER_STATE_ELEMENT_EDGE = 110;

/** How many trailing cells fit the budget, counting each by its input state size times its edges. */
export function tapedTailCells(shapes: CellShape[], batch: number, edges: number, budgetBytes: number): number {
  let used = 0;
  let tail = 0;
  for (let i = shapes.length - 1; i >= 0; i--) {
    const { hw, c } = shapes[i];
    used += batch * hw * hw * c * edges * TAPE_BYTES_PER_STATE_ELEMENT_EDGE;
    if (used > budgetBytes) break;
    tail++;
  }
  return tail;
}
