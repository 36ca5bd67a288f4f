import * as tf from '@tensorflow/tfjs';

/**
 * tfjs-core's Sum and Mean gradients broadcast dy by multiplying it with `ones(x.shape)`, an array
 * built and filled in JS and copied into the backend on every step (for batch norm on wasm, ~1 ms
 * per [32,32,32,16] reduction plus garbage-collector churn). These build the ones on the backend
 * (its Fill kernel), and Mean divides the small dy by the count before broadcasting rather than the
 * broadcast result after: the same float32 value (dy·1/n vs dy/n·1), one full-size pass fewer.
 */
function broadcastGradient(kernelName: 'Sum' | 'Mean'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const expandedShape = x.shape.map((n, i) => (axes.includes(i) ? 1 : n));
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return {
        x: () => {
          const expanded = tf.reshape(dy as tf.Tensor, expandedShape);
          const scaled = kernelName === 'Mean' ? tf.div(expanded, count) : expanded;
          return tf.mul(scaled, tf.fill(x.shape, 1, 'float32'));
        },
      };
    },
  };
}

let registered = false;

/** Replaces tfjs-core's Sum and Mean gradients (for every backend). Idempotent. */
export function registerReduceGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(broadcastGradient('Sum'));
  tf.registerGradient(broadcastGradient('Mean'));
}
