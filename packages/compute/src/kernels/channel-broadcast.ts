import * as tf from '@tensorflow/tfjs';
import { KernelGraph } from './graph.js';
import { floatValues, makeFloatOutput } from './heap.js';

type Info = tf.TensorInfo;
type Kind = 'mul' | 'add' | 'sub';

/**
 * tfjs-wasm's binary ops take a per-element index path when one operand is broadcast, ~2.3× the
 * time of the same op on equal shapes; batch norm multiplies, subtracts and adds per-channel vectors
 * ([C] or [1,1,1,C]) on every activation, forward and backward. x·scale + shift per channel is what
 * a 1×1 depthwise convolution with a bias computes, and XNNPACK's runs at the equal-shape speed.
 * (The cpu backend gets a plain loop: see affineLoop.)
 */
export function channelBroadcast(original: tf.KernelFunc, kind: Kind, backendName: string): tf.KernelFunc {
  const apply = backendName === 'wasm' ? affine : affineLoop;
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    if (isChannelVector(b, a)) return apply(args.backend as tf.KernelBackend, a, b, kind, false);
    if (isChannelVector(a, b)) return apply(args.backend as tf.KernelBackend, b, a, kind, true);
    return original(args);
  };
}

/**
 * The cpu backend's broadcasting binary ops compute every element's source index through
 * per-axis arithmetic (~170 ns an element for [32,8,8,64] against [1,1,1,64]): one pass instead.
 */
function affineLoop(backend: tf.KernelBackend, full: Info, vector: Info, kind: Kind, vectorFirst: boolean): Info {
  const c = full.shape[full.shape.length - 1];
  return makeFloatOutput(backend, full.shape, [full, vector], (out, x, v) => {
    for (let start = 0; start < x.length; start += c) {
      for (let k = 0; k < c; k++) {
        const xi = x[start + k], vk = v[k];
        out[start + k] = kind === 'mul' ? xi * vk : kind === 'add' ? xi + vk : vectorFirst ? vk - xi : xi - vk;
      }
    }
  });
}

/** `vector` is [C] or [1,…,1,C] against `full`'s last axis C, with no more axes than `full` (so the result has full's shape). */
function isChannelVector(vector: Info, full: Info): boolean {
  const c = full.shape[full.shape.length - 1];
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  return (
    vector.shape.length >= 1 &&
    vector.shape.length <= full.shape.length &&
    vector.shape[vector.shape.length - 1] === c &&
    size(vector.shape) === c &&
    size(full.shape) > c
  );
}

/** full ⊙ vector, full ± vector, or (vectorFirst) vector − full = full·(−1) + vector. */
function affine(backend: tf.KernelBackend, full: Info, vector: Info, kind: Kind, vectorFirst: boolean): Info {
  const c = full.shape[full.shape.length - 1];
  const g = new KernelGraph(backend, 'wasm');
  const scaleSign = kind === 'sub' && vectorFirst ? -1 : 1;
  const shiftSign = kind === 'sub' && !vectorFirst ? -1 : 1;
  // Fresh rank-1 tensors: tfjs-wasm reads a bias's shape from its buffer, which a reshape does not change.
  const filter = g.constant([1, 1, c, 1], (v) => (kind === 'mul' ? v.set(floatValues(backend, vector)) : v.fill(scaleSign)));
  const bias = g.constant([c], (v) => {
    if (kind !== 'mul') floatValues(backend, vector).forEach((value, i) => (v[i] = shiftSign * value));
  });
  const rows = g.reshape(full, [1, 1, full.shape.reduce((x, y) => x * y, 1) / c, c]);
  const out = g.run('FusedDepthwiseConv2D', { x: rows, filter, bias }, { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC', activation: 'linear' });
  return g.finish(g.reshape(out, full.shape));
}
