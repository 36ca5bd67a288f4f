import * as tf from '@tensorflow/tfjs';
import { globalNorm } from './optim.js';
import type { LossAndGrads } from './train-step.js';

/** What the unrolled (second-order) architecture gradient needs to know about the network. */
export interface UnrolledProblem {
  weights: tf.Variable[];
  alphas: tf.Variable[];
  /** L_train on the training batch at the variables' current values, with its gradients by the weights or by α. */
  trainGradients(wrt: 'weights' | 'alphas'): LossAndGrads;
  /** L_arch (CE on the α batch, plus any α-only term) at the current values, with its gradients by the weights and α. */
  archGradients(): LossAndGrads;
  /** The weight optimiser's momentum buffer of weight i, if it has one yet. */
  momentumBuffer: (i: number) => tf.Tensor | undefined;
  momentum: number;
  weightDecay: number;
  /** ξ: the virtual step's learning rate (DARTS uses the weights' current rate). */
  eta: number;
  /** The Hessian-vector product's step is radius / ‖∇w' L_arch‖ (DARTS: 0.01). */
  radius?: number;
}

export const HVP_RADIUS = 0.01;

// A gradient the loss does not reach is absent (α_normal in a net of only reduction cells): zero.
function gradOf(grads: tf.NamedTensorMap, v: tf.Variable): tf.Tensor {
  return grads[v.name] ?? tf.zerosLike(v);
}

function assignAll(vars: tf.Variable[], values: tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(values[i]));
}

/** w' = w − ξ·(momentum·buf + ∇w L_train + wd·w), as the official code's virtual step (no clipping). */
function virtualStep(p: UnrolledProblem, w0: tf.Tensor[]): tf.Tensor[] {
  const { grads } = p.trainGradients('weights');
  const next = tf.tidy(() =>
    p.weights.map((v, i) => {
      const buf = p.momentumBuffer(i);
      let d = tf.add(gradOf(grads, v), tf.mul(w0[i], p.weightDecay));
      if (buf) d = tf.add(d, tf.mul(buf, p.momentum));
      return tf.sub(w0[i], tf.mul(d, p.eta));
    }),
  );
  tf.dispose(Object.values(grads));
  return next;
}

/** ∇α L_train at w0 + r·v. */
function alphaGradAt(p: UnrolledProblem, w0: tf.Tensor[], v: tf.Tensor[], r: number): tf.NamedTensorMap {
  const moved = tf.tidy(() => w0.map((w, i) => tf.add(w, tf.mul(v[i], r))));
  assignAll(p.weights, moved);
  tf.dispose(moved);
  const { grads } = p.trainGradients('alphas');
  return Object.fromEntries(p.alphas.map((a) => [a.name, gradOf(grads, a)]));
}

/**
 * DARTS's second-order architecture gradient:
 *   ∇α L_arch(w', α) − ξ · (∇α L_train(w⁺) − ∇α L_train(w⁻)) / (2R),
 * with w' the virtual step, w± = w ± R·∇w' L_arch and R = 0.01 / ‖∇w' L_arch‖.
 * Returns L_arch at w'. The weights are back at their values on return.
 */
export function unrolledArchGrads(p: UnrolledProblem): LossAndGrads {
  const w0 = p.weights.map((v) => tf.clone(v));
  try {
    const unrolled = virtualStep(p, w0);
    assignAll(p.weights, unrolled);
    tf.dispose(unrolled);
    const at = p.archGradients();
    const atGrads: tf.NamedTensorMap = Object.fromEntries([...p.weights, ...p.alphas].map((v) => [v.name, gradOf(at.grads, v)]));
    const vector = p.weights.map((v) => atGrads[v.name]);
    const norm = globalNorm(vector);
    // A zero gradient at w' leaves no direction to differentiate along: the implicit term is zero.
    if (norm === 0) {
      tf.dispose(vector);
      return { grads: Object.fromEntries(p.alphas.map((a) => [a.name, atGrads[a.name]])), loss: at.loss };
    }
    const r = (p.radius ?? HVP_RADIUS) / norm;
    const plus = alphaGradAt(p, w0, vector, r);
    const minus = alphaGradAt(p, w0, vector, -r);
    const grads: tf.NamedTensorMap = {};
    for (const a of p.alphas) {
      grads[a.name] = tf.tidy(() => tf.sub(atGrads[a.name], tf.mul(tf.div(tf.sub(plus[a.name], minus[a.name]), 2 * r), p.eta)));
    }
    tf.dispose([...Object.values(atGrads), ...Object.values(plus), ...Object.values(minus)]);
    return { grads, loss: at.loss };
  } finally {
    assignAll(p.weights, w0);
    tf.dispose(w0);
  }
}
