import * as tf from '@tensorflow/tfjs';
import { explicitPads, sameLandsOn } from './conv.js';
import { UserError } from './errors.js';
import { hasLennaKernels, registerLennaKernels } from './kernels/register.js';

export interface PoolOptions {
  /** Window size (square). */
  size: number;
  stride?: number;
  /** 'same', 'valid' or a number of pixels on every side. */
  pad: 'same' | 'valid' | number;
}

/** Max pooling (NHWC); padding never wins the max. */
export function maxPool2d(x: tf.Tensor4D, opts: PoolOptions): tf.Tensor4D {
  return pool(x, opts, 'max');
}

/** Average pooling (NHWC) over the pixels inside the input only (PyTorch's count_include_pad=False). */
export function avgPool2d(x: tf.Tensor4D, opts: PoolOptions): tf.Tensor4D {
  return pool(x, opts, 'avg');
}

let graphDepth = 0;

/**
 * Runs `fn` with pools written in the forms a TensorFlow graph can hold (SAME, VALID, or padded by hand;
 * see `portable`) on every backend: tfjs's numeric pool padding has no GraphDef equivalent, so a network
 * traced into a graph model (nn's web model) must not use it. Convolutions need no such care: a GraphDef
 * Conv2D takes explicit padding and dilations.
 */
export function inGraphForms<T>(fn: () => T): T {
  graphDepth++;
  try {
    return fn();
  } finally {
    graphDepth--;
  }
}

function pool(x: tf.Tensor4D, opts: PoolOptions, kind: 'max' | 'avg'): tf.Tensor4D {
  registerLennaKernels();
  const { size, pad } = opts;
  const stride = opts.stride ?? 1;
  const info = poolInfo(x, size, stride, pad);
  const plain = kind === 'max' ? tf.maxPool : tf.avgPool;
  // wasm and cpu pool with any padding (and their gradients are LENNA's kernels).
  if (hasLennaKernels(tf.getBackend()) && graphDepth === 0) return plain(x, size, stride, pad);
  return tf.tidy(() => portable(x, size, stride, info, kind));
}

function poolInfo(x: tf.Tensor4D, size: number, stride: number, pad: PoolOptions['pad']): tf.backend_util.Conv2DInfo {
  for (const [name, value] of [['size', size], ['stride', stride]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new UserError(`The pooling option ${name}=${value} is not allowed; it must be a positive integer.`);
  }
  if (typeof pad === 'number' && (!Number.isInteger(pad) || pad < 0 || pad >= size)) {
    throw new UserError(`The pooling option pad=${pad} is not allowed for a ${size}×${size} window; use 'same', 'valid' or an integer from 0 to ${size - 1}.`);
  }
  const info = tf.backend_util.computePool2DInfo(x.shape, size, stride, 1, pad);
  if (info.outHeight < 1 || info.outWidth < 1) {
    throw new UserError(`A ${size}×${size} pooling window with pad ${JSON.stringify(pad)} does not fit the ${x.shape[1]}×${x.shape[2]} input; use a larger input or 'same' padding.`);
  }
  return info;
}

/**
 * The same pooling in the forms TensorFlow's native kernels take (tfjs-node's pools and their
 * gradients refuse numeric padding): 'valid' without padding; 'same' where TensorFlow's SAME lands the
 * windows on the same pixels (stride 1, odd window: TensorFlow's SAME also leaves padding out of the
 * max and the average); else the input padded by hand, then 'valid': with −∞ for the max, with zeros
 * for the average, whose window mean is then rescaled from size² to the in-bounds pixel count.
 */
function portable(x: tf.Tensor4D, size: number, stride: number, info: tf.backend_util.Conv2DInfo, kind: 'max' | 'avg'): tf.Tensor4D {
  const plain = kind === 'max' ? tf.maxPool : tf.avgPool;
  const { top, bottom, left, right } = info.padInfo;
  if (top + bottom + left + right === 0) return plain(x, size, stride, 'valid');
  if (sameLandsOn(info, tf.backend_util.computePool2DInfo(x.shape, size, stride, 1, 'same'))) return plain(x, size, stride, 'same');
  if (kind === 'max') return tf.maxPool(tf.pad(x, explicitPads(info.padInfo), -Infinity), size, stride, 'valid');
  const mean = tf.avgPool(tf.pad(x, explicitPads(info.padInfo)), size, stride, 'valid');
  return tf.mul(mean, inBoundsRescale(info, size)) as tf.Tensor4D;
}

/** size² / (pixels of each window inside the input), as a [1, outHeight, outWidth, 1] constant. */
function inBoundsRescale(info: tf.backend_util.Conv2DInfo, size: number): tf.Tensor4D {
  const inside = (out: number, stride: number, pad: number, extent: number) =>
    Array.from({ length: out }, (_, i) => Math.min(i * stride - pad + size, extent) - Math.max(i * stride - pad, 0));
  const rows = inside(info.outHeight, info.strideHeight, info.padInfo.top, info.inHeight);
  const cols = inside(info.outWidth, info.strideWidth, info.padInfo.left, info.inWidth);
  const scale = new Float32Array(info.outHeight * info.outWidth);
  rows.forEach((r, i) => cols.forEach((c, j) => (scale[i * info.outWidth + j] = (size * size) / (r * c))));
  return tf.tensor4d(scale, [1, info.outHeight, info.outWidth, 1]);
}
