import * as tf from '@tensorflow/tfjs';

/** How the latency term joins the architecture loss. */
export interface LatencyObjective {
  lambda: number;
  form: 'additive' | 'multiplicative' | 'target';
  beta: number;
  /** E[lat] in ms at the initial α: the constant that makes λ unitless. */
  reference: number;
  /** T in ms, for the target form. */
  targetMs?: number;
}

/**
 * additive: CE + λ·E/L_ref. multiplicative (ProxylessNAS, FBNet): CE·(log E / log L_ref)^β, with
 * latencies in microseconds so both logarithms stay positive. target (TF-NAS): CE + λ·|E/T − 1|,
 * which pulls E towards T from either side. λ = 0 turns any of them off.
 */
export function architectureLoss(ce: tf.Scalar, expectedMs: tf.Scalar | undefined, o: LatencyObjective): tf.Scalar {
  if (!expectedMs || o.lambda === 0) return ce;
  return tf.tidy(() => {
    if (o.form === 'additive') return tf.add(ce, tf.mul(tf.div(expectedMs, o.reference), o.lambda)) as tf.Scalar;
    if (o.form === 'target') {
      if (o.targetMs === undefined) throw new Error('the target form of the latency loss needs targetMs');
      return tf.add(ce, tf.mul(tf.abs(tf.sub(tf.div(expectedMs, o.targetMs), 1)), o.lambda)) as tf.Scalar;
    }
    const ratio = tf.div(tf.log(tf.mul(expectedMs, 1000)), Math.log(o.reference * 1000));
    return tf.mul(ce, tf.pow(ratio, o.beta)) as tf.Scalar;
  });
}
