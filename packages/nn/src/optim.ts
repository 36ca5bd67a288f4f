import * as tf from '@tensorflow/tfjs';
import type { TensorData } from '@lenna/core';

/** Gradients keyed by variable name, as tf.variableGrads returns them. */
export type Grads = tf.NamedTensorMap;

export interface Optimizer {
  readonly variables: tf.Variable[];
  /** One update from `grads` (missing entries are skipped); `lr` overrides the base rate for this step. */
  step(grads: Grads, lr?: number): void;
  /** Step count and slot tensors, for checkpoints (names: `step`, `<slot>.<variable index>`). */
  state(): Record<string, TensorData>;
  loadState(state: Record<string, TensorData>): void;
  dispose(): void;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

function slotData(slots: Map<number, tf.Variable>, prefix: string, out: Record<string, TensorData>): void {
  for (const [i, v] of slots) out[`${prefix}.${i}`] = { dtype: 'F32', shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
}

function loadSlots(slots: Map<number, tf.Variable>, prefix: string, state: Record<string, TensorData>, vars: tf.Variable[]): void {
  for (const v of slots.values()) v.dispose();
  slots.clear();
  vars.forEach((v, i) => {
    const t = state[`${prefix}.${i}`];
    if (t) slots.set(i, tf.variable(tf.tensor(t.data as Float32Array, v.shape), false));
  });
}

export interface SgdOptimizer extends Optimizer {
  /** Variable i's momentum buffer, once a step has made one (DARTS's virtual step reads it). */
  momentumBuffer(i: number): tf.Variable | undefined;
}

/**
 * PyTorch's SGD: g ← g + wd·p; buf ← momentum·buf + g (buf = g at the first step); p ← p − lr·buf.
 */
export function createSgd(variables: tf.Variable[], o: SgdOptions): SgdOptimizer {
  const momentum = o.momentum ?? 0;
  const wd = o.weightDecay ?? 0;
  const bufs = new Map<number, tf.Variable>();
  let steps = 0;
  return {
    variables,
    step(grads, lr = o.lr) {
      tf.tidy(() => {
        variables.forEach((p, i) => {
          const g0 = grads[p.name];
          if (!g0) return;
          const g = wd ? tf.add(g0, tf.mul(p, wd)) : g0;
          let d = g;
          if (momentum) {
            const buf = bufs.get(i);
            if (buf) buf.assign(tf.add(tf.mul(buf, momentum), g));
            else bufs.set(i, tf.variable(g, false));
            d = bufs.get(i)!;
          }
          p.assign(tf.sub(p, tf.mul(d, lr)));
        });
      });
      steps++;
    },
    state() {
      const out: Record<string, TensorData> = { step: { dtype: 'I32', shape: [], data: Int32Array.of(steps) } };
      slotData(bufs, 'momentum', out);
      return out;
    },
    loadState(state) {
      steps = Number(state.step?.data[0] ?? 0);
      loadSlots(bufs, 'momentum', state, variables);
    },
    momentumBuffer: (i) => bufs.get(i),
    dispose: () => bufs.forEach((b) => b.dispose()),
  };
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * PyTorch's Adam with L2 weight decay: g ← g + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps).
 */
export function createAdam(variables: tf.Variable[], o: AdamOptions): Optimizer {
  const [b1, b2, eps, wd] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8, o.weightDecay ?? 0];
  const ms = new Map<number, tf.Variable>();
  const vs = new Map<number, tf.Variable>();
  let t = 0;
  const slot = (slots: Map<number, tf.Variable>, i: number, p: tf.Variable) => {
    if (!slots.has(i)) slots.set(i, tf.variable(tf.zerosLike(p), false));
    return slots.get(i)!;
  };
  return {
    variables,
    step(grads, lr = o.lr) {
      t++;
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      tf.tidy(() => {
        variables.forEach((p, i) => {
          const g0 = grads[p.name];
          if (!g0) return;
          const g = wd ? tf.add(g0, tf.mul(p, wd)) : g0;
          const m = slot(ms, i, p);
          const v = slot(vs, i, p);
          m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
          v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
          const denom = tf.add(tf.sqrt(tf.div(v, c2)), eps);
          p.assign(tf.sub(p, tf.mul(tf.div(tf.div(m, c1), denom), lr)));
        });
      });
    },
    state() {
      const out: Record<string, TensorData> = { step: { dtype: 'I32', shape: [], data: Int32Array.of(t) } };
      slotData(ms, 'exp_avg', out);
      slotData(vs, 'exp_avg_sq', out);
      return out;
    },
    loadState(state) {
      t = Number(state.step?.data[0] ?? 0);
      loadSlots(ms, 'exp_avg', state, variables);
      loadSlots(vs, 'exp_avg_sq', state, variables);
    },
    dispose: () => [...ms.values(), ...vs.values()].forEach((s) => s.dispose()),
  };
}

/**
 * Scales all gradients together so their global L2 norm is at most maxNorm (PyTorch's
 * clip_grad_norm_: factor maxNorm/(norm+1e-6) when below 1). Returns new tensors and the norm before.
 */
export function clipGradNorm(grads: Grads, maxNorm: number): { grads: Grads; norm: number } {
  const names = Object.keys(grads);
  const norm = globalNorm(Object.values(grads));
  const coef = maxNorm / (norm + 1e-6);
  const out: Grads = {};
  for (const k of names) out[k] = coef < 1 ? tf.mul(grads[k], coef) : tf.clone(grads[k]);
  return { grads: out, norm };
}

/** The L2 norm of all the tensors together (0 for none). */
export function globalNorm(tensors: tf.Tensor[]): number {
  if (tensors.length === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))).dataSync()[0]);
}

/** CosineAnnealingLR: lrMin + (lr0 − lrMin)·(1 + cos(π·t/T))/2 at epoch t of T. */
export function cosineLr(lr0: number, lrMin: number, t: number, total: number): number {
  return lrMin + ((lr0 - lrMin) * (1 + Math.cos((Math.PI * t) / total))) / 2;
}
