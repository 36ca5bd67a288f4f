import * as tf from '@tensorflow/tfjs';

/** How the latency term joins the architecture loss. */
export interface LatencyObjective {
  lambda: number;
  form: 'additive' | 'multiplicative';
  beta: number;
  /** E[lat] in ms at the initial α: the constant that makes λ unitless. */
  reference: number;
}

/**
 * additive: CE + λ·E/L_ref. multiplicative (ProxylessNAS, FBNet): CE·(log E / log L_ref)^β, with
 * latencies in microseconds so both logarithms stay positive; λ = 0 turns it off.
 */
export function architectureLoss(ce: tf.Scalar, expectedMs: tf.Scalar | undefined, o: LatencyObjective): tf.Scalar {
  if (!expectedMs || o.lambda === 0) return ce;
  return tf.tidy(() => {
    if (o.form === 'additive') return tf.add(ce, tf.mul(tf.div(expectedMs, o.reference), o.lambda)) as tf.Scalar;
    const ratio = tf.div(tf.log(tf.mul(expectedMs, 1000)), Math.log(o.reference * 1000));
    return tf.mul(ce, tf.pow(ratio, o.beta)) as tf.Scalar;
  });
}
