import * as tf from '@tensorflow/tfjs';
import { createAdam, createSgd, type Optimizer, type SgdOptimizer } from './optim.js';
import type { SearchNetwork } from './search-network.js';
import { HVP_RADIUS, unrolledArchGrads } from './second-order.js';
import { applyUpdate, countCorrect, crossEntropy, WEIGHT_UPDATE, type Batch, type LossAndGrads, type StepResult } from './train-step.js';

/**
 * A term of the architecture loss that lives outside the network and depends on α alone (LENNA's
 * expected latency E[lat](α) from the latency model), and how it joins the validation CE.
 */
export interface ArchTerm {
  /** A scalar differentiable in α (read the variables given). */
  value(alphas: { normal: tf.Variable; reduce: tf.Variable }): tf.Scalar;
  /** L_arch from the validation CE and the term's value, e.g. CE + λ·E[lat]/L_ref. */
  combine(ce: tf.Scalar, term: tf.Scalar): tf.Scalar;
}

export interface SearchStepOptions {
  /** first: ∇α L_arch at the current weights; second: through DARTS's virtual weight step. */
  order: 'first' | 'second';
  weightLr: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  alphaLr: number;
  alphaBeta1: number;
  alphaBeta2: number;
  alphaWeightDecay: number;
  /** Second order: the Hessian-vector product's step is hvpRadius / ‖∇w' L_arch‖ (DARTS: 0.01). */
  hvpRadius: number;
  /** See GradientRequest.tapeBudgetBytes (default 1.5 GB). */
  tapeBudgetBytes?: number;
  /** Added to the architecture loss through `combine`; absent: L_arch = CE on the α batch. */
  archTerm?: ArchTerm;
}

/** The official DARTS search defaults (first order). */
export const DARTS_SEARCH_DEFAULTS: Readonly<Omit<SearchStepOptions, 'archTerm' | 'tapeBudgetBytes'>> = Object.freeze({
  order: 'first',
  weightLr: 0.025,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  alphaLr: 3e-4,
  alphaBeta1: 0.5,
  alphaBeta2: 0.999,
  alphaWeightDecay: 1e-3,
  hvpRadius: HVP_RADIUS,
});

export interface SearchStepResult extends StepResult {
  /** L_arch of the α step (at w' in second order); null when α did not move. */
  archLoss: number | null;
}

export interface SearchStep {
  weightOptimizer: SgdOptimizer;
  alphaOptimizer: Optimizer;
  /** ∂L_arch/∂α on `val` (second order: through a virtual step on `train` at rate `lr`); the caller disposes the grads. */
  archGradients(train: Batch, val: Batch, lr?: number): LossAndGrads;
  /**
   * One DARTS iteration: an α step (Adam) on `val`, skipped when `val` is undefined (warm-up), then
   * a weight step (SGD, momentum, weight decay, clipping) on `train`. `lr` is the weights' rate
   * (default weightLr) and second order's ξ. A non-finite loss or gradient throws NonFiniteError
   * before its update is applied.
   */
  step(train: Batch, val: Batch | undefined, lr?: number): SearchStepResult;
  dispose(): void;
}

const ALPHA_UPDATE = { loss: 'architecture loss', gradient: 'α gradient' };

/**
 * DARTS's search iteration on the supernet's memory-bounded `gradients`: every loss and gradient,
 * the second-order virtual step and Hessian-vector product included, comes from it. Each gradient
 * evaluation is one forward pass in training mode and moves BatchNorm's running statistics once
 * (first order: twice per iteration, α batch then weight batch; second order: five times, as the
 * official code's forward passes on the model).
 */
export function createSearchStep(net: SearchNetwork, opts: Partial<SearchStepOptions> = {}): SearchStep {
  const o: SearchStepOptions = { ...DARTS_SEARCH_DEFAULTS, ...opts };
  const alphas = [net.alphas.normal, net.alphas.reduce];
  const alphaOptimizer = createAdam(alphas, { lr: o.alphaLr, beta1: o.alphaBeta1, beta2: o.alphaBeta2, weightDecay: o.alphaWeightDecay });
  const weightOptimizer = createSgd(net.weights, { lr: o.weightLr, momentum: o.momentum, weightDecay: o.weightDecay });
  const budget = o.tapeBudgetBytes;

  const trainGradients = (train: Batch, wrt: 'weights' | 'alphas') =>
    net.gradients(train.x, (logits) => crossEntropy(logits, train.y), { weights: wrt === 'weights', alphas: wrt === 'alphas', tapeBudgetBytes: budget });

  /**
   * L_arch and its gradients. The network's part backpropagates combine(CE, t) with the term's value t
   * held fixed; the term's part differentiates combine(c, term(α)) with CE's value c held fixed. Their
   * sum is the chain rule for L_arch = combine(CE(w, α), term(α)).
   */
  const archLossGradients = (val: Batch, weights: boolean): LossAndGrads => {
    const term = o.archTerm;
    const fixedTerm = term ? tf.tidy(() => term.value(net.alphas)) : undefined;
    let fixedCe: tf.Scalar | undefined;
    try {
      const r = net.gradients(
        val.x,
        (logits) => {
          const ce = crossEntropy(logits, val.y);
          if (!term || !fixedTerm) return ce;
          fixedCe = tf.keep(ce);
          return term.combine(ce, fixedTerm);
        },
        { weights, alphas: true, tapeBudgetBytes: budget },
      );
      if (term && fixedCe) addTermGradients(r.grads, term, fixedCe);
      return r;
    } finally {
      tf.dispose([fixedTerm, fixedCe].filter((t): t is tf.Scalar => t !== undefined));
    }
  };

  const addTermGradients = (grads: tf.NamedTensorMap, term: ArchTerm, ce: tf.Scalar) => {
    const t = tf.variableGrads(() => term.combine(ce, term.value(net.alphas)), alphas);
    t.value.dispose();
    for (const [name, g] of Object.entries(t.grads)) {
      const prev = grads[name];
      grads[name] = prev ? tf.add(prev, g) : g;
      if (prev) tf.dispose([prev, g]);
    }
  };

  const archGradients = (train: Batch, val: Batch, lr = o.weightLr): LossAndGrads => {
    if (o.order === 'first') return archLossGradients(val, false);
    return unrolledArchGrads({
      weights: net.weights,
      alphas,
      trainGradients: (wrt) => trainGradients(train, wrt),
      archGradients: () => archLossGradients(val, true),
      momentumBuffer: (i) => weightOptimizer.momentumBuffer(i),
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      eta: lr,
      radius: o.hvpRadius,
    });
  };

  const weightStep = (train: Batch, lr: number): StepResult => {
    let correct: tf.Scalar | undefined;
    const r = net.gradients(
      train.x,
      (logits) => {
        correct = tf.keep(countCorrect(logits, train.y));
        return crossEntropy(logits, train.y);
      },
      { weights: true, tapeBudgetBytes: budget },
    );
    const hits = correct!.dataSync()[0];
    correct!.dispose();
    const gradNorm = applyUpdate(weightOptimizer, r, { gradClip: o.gradClip, lr, names: WEIGHT_UPDATE });
    return { loss: r.loss, correct: hits, gradNorm };
  };

  return {
    weightOptimizer,
    alphaOptimizer,
    archGradients,
    step(train, val, lr = o.weightLr) {
      let archLoss: number | null = null;
      if (val) {
        const a = archGradients(train, val, lr);
        archLoss = a.loss;
        applyUpdate(alphaOptimizer, a, { names: ALPHA_UPDATE });
      }
      return { ...weightStep(train, lr), archLoss };
    },
    dispose() {
      alphaOptimizer.dispose();
      weightOptimizer.dispose();
    },
  };
}
