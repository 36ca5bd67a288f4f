import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput } from './heap.js';

type Info = tf.TensorInfo;
type Kind = 'mul' | 'add' | 'sub';

/*
 * The cpu backend's elementwise kernels call a closure per element and, for binary ops, take a
 * modulo per operand even when the shapes are equal (~20 ns an element: 10 ms to multiply two
 * [32,32,32,16] tensors, 25 ms for Step). Batch norm and ReLU gradients are made of these. Plain
 * loops over float32 values, with the same per-element arithmetic; anything else goes to the original.
 */

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** Multiply/Add/Sub of equal shapes, or of a tensor and a one-element one (a scalar). */
export function cpuBinary(original: tf.KernelFunc, kind: Kind): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const backend = args.backend as tf.KernelBackend;
    if (sameShape(a.shape, b.shape)) return binaryLoop(backend, a.shape, a, b, kind);
    if (sizeOf(b.shape) === 1 && b.shape.length <= a.shape.length) return binaryLoop(backend, a.shape, a, b, kind);
    if (sizeOf(a.shape) === 1 && a.shape.length <= b.shape.length) return binaryLoop(backend, b.shape, a, b, kind);
    return original(args);
  };
}

function binaryLoop(backend: tf.KernelBackend, shape: number[], a: Info, b: Info, kind: Kind): Info {
  return makeFloatOutput(backend, shape, [a, b], (out, x, y) => {
    const n = out.length;
    if (x.length === n && y.length === n) {
      if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = x[i] * y[i];
      else if (kind === 'add') for (let i = 0; i < n; i++) out[i] = x[i] + y[i];
      else for (let i = 0; i < n; i++) out[i] = x[i] - y[i];
    } else if (y.length === 1) {
      const s = y[0];
      if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = x[i] * s;
      else if (kind === 'add') for (let i = 0; i < n; i++) out[i] = x[i] + s;
      else for (let i = 0; i < n; i++) out[i] = x[i] - s;
    } else {
      const s = x[0];
      if (kind === 'mul') for (let i = 0; i < n; i++) out[i] = s * y[i];
      else if (kind === 'add') for (let i = 0; i < n; i++) out[i] = s + y[i];
      else for (let i = 0; i < n; i++) out[i] = s - y[i];
    }
  });
}

/** Step: NaN stays NaN, positive → 1, else alpha (tfjs's definition). */
export function cpuStep(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype !== 'float32') return original(args);
    const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    return makeFloatOutput(args.backend as tf.KernelBackend, x.shape, [x], (out, v) => {
      for (let i = 0; i < out.length; i++) {
        const xi = v[i];
        out[i] = xi > 0 ? 1 : xi !== xi ? NaN : alpha;
      }
    });
  };
}

/** Relu: max(0, x), NaN stays NaN (tfjs's definition, Math.max). */
export function cpuRelu(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype !== 'float32') return original(args);
    return makeFloatOutput(args.backend as tf.KernelBackend, x.shape, [x], (out, v) => {
      for (let i = 0; i < out.length; i++) out[i] = Math.max(0, v[i]);
    });
  };
}
