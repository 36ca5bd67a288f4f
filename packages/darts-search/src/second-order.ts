import * as tf from '@tensorflow/tfjs';

/** What the unrolled (second-order) architecture gradient needs to know about the network. */
export interface UnrolledProblem {
  weights: tf.Variable[];
  alphas: tf.Variable[];
  /** CE on the training batch at the current values of the variables. */
  trainLoss: () => tf.Scalar;
  /** The architecture loss (CE on the α batch, plus the latency term) at the current values. */
  archLoss: () => tf.Scalar;
  /** The weight optimiser's momentum buffer of weight i, if it has one yet. */
  momentumBuffer: (i: number) => tf.Tensor | undefined;
  momentum: number;
  weightDecay: number;
  /** ξ: the virtual step's learning rate (DARTS uses the weights' current rate). */
  eta: number;
  /** The Hessian-vector product's step is radius / ‖∇w' L_arch‖ (DARTS: 0.01). */
  radius?: number;
}

export interface UnrolledResult {
  /** ∂/∂α of the architecture loss through the virtual step, keyed by α variable name. */
  grads: tf.NamedTensorMap;
  /** The architecture loss at the virtual weights w'. */
  loss: number;
}

const HVP_RADIUS = 0.01;

// tf.variableGrads gives null for a variable the loss does not reach (α_normal in a net of only reduction cells).
function gradOf(grads: tf.NamedTensorMap, v: tf.Variable): tf.Tensor {
  return grads[v.name] ?? tf.zerosLike(v);
}

function assignAll(vars: tf.Variable[], values: tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(values[i]));
}

function globalNorm(tensors: tf.Tensor[]): number {
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))).dataSync()[0]);
}

/** w' = w − ξ·(momentum·buf + ∇w L_train + wd·w), as the official code's virtual step (no clipping). */
function virtualStep(p: UnrolledProblem, w0: tf.Tensor[]): tf.Tensor[] {
  const { grads } = tf.variableGrads(p.trainLoss, p.weights);
  const next = tf.tidy(() =>
    p.weights.map((v, i) => {
      const buf = p.momentumBuffer(i);
      let d = tf.add(gradOf(grads, v), tf.mul(w0[i], p.weightDecay));
      if (buf) d = tf.add(d, tf.mul(buf, p.momentum));
      return tf.sub(w0[i], tf.mul(d, p.eta));
    }),
  );
  tf.dispose(Object.values(grads).filter(Boolean));
  return next;
}

/** ∇α L_train at w0 + r·v. */
function alphaGradAt(p: UnrolledProblem, w0: tf.Tensor[], v: tf.Tensor[], r: number): tf.NamedTensorMap {
  const moved = tf.tidy(() => w0.map((w, i) => tf.add(w, tf.mul(v[i], r))));
  assignAll(p.weights, moved);
  tf.dispose(moved);
  const { value, grads } = tf.variableGrads(p.trainLoss, p.alphas);
  value.dispose();
  return Object.fromEntries(p.alphas.map((a) => [a.name, gradOf(grads, a)]));
}

/**
 * DARTS's second-order architecture gradient:
 *   ∇α L_arch(w', α) − ξ · (∇α L_train(w⁺) − ∇α L_train(w⁻)) / (2R),
 * with w' the virtual step, w± = w ± R·∇w' L_arch and R = 0.01 / ‖∇w' L_arch‖.
 * The weights are back at their values on return.
 */
export function unrolledArchGrads(p: UnrolledProblem): UnrolledResult {
  const w0 = p.weights.map((v) => tf.clone(v));
  try {
    const unrolled = virtualStep(p, w0);
    assignAll(p.weights, unrolled);
    tf.dispose(unrolled);
    const at = tf.variableGrads(p.archLoss, [...p.weights, ...p.alphas]);
    const loss = at.value.dataSync()[0];
    at.value.dispose();
    const atGrads: tf.NamedTensorMap = Object.fromEntries([...p.weights, ...p.alphas].map((v) => [v.name, gradOf(at.grads, v)]));
    const vector = p.weights.map((v) => atGrads[v.name]);
    const norm = globalNorm(vector);
    // A zero gradient at w' leaves no direction to differentiate along: the implicit term is zero.
    if (norm === 0) {
      tf.dispose(vector);
      return { grads: Object.fromEntries(p.alphas.map((a) => [a.name, atGrads[a.name]])), loss };
    }
    const r = (p.radius ?? HVP_RADIUS) / norm;
    const plus = alphaGradAt(p, w0, vector, r);
    const minus = alphaGradAt(p, w0, vector, -r);
    const grads: tf.NamedTensorMap = {};
    for (const a of p.alphas) {
      grads[a.name] = tf.tidy(() => tf.sub(atGrads[a.name], tf.mul(tf.div(tf.sub(plus[a.name], minus[a.name]), 2 * r), p.eta)));
    }
    tf.dispose([...Object.values(atGrads), ...Object.values(plus), ...Object.values(minus)]);
    return { grads, loss };
  } finally {
    assignAll(p.weights, w0);
    tf.dispose(w0);
  }
}
