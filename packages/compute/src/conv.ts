import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors.js';
import { hasLennaKernels, registerLennaKernels } from './kernels/register.js';

export interface ConvOptions {
  stride?: number;
  dilation?: number;
  pad: 'same' | 'valid' | number;
}

type Padding = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: Padding) => tf.Tensor4D;

interface ConvKind {
  plain: Conv;
  /** Forward, input-gradient and filter-gradient kernel names. */
  kernels: [string, string, string];
}

const REGULAR: ConvKind = {
  plain: (x, f, stride, pad) => tf.conv2d(x, f, stride, pad),
  kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
};
const DEPTHWISE: ConvKind = {
  plain: (x, f, stride, pad) => tf.depthwiseConv2d(x, f, stride, pad),
  kernels: ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
};

/**
 * A 2-D convolution (NHWC, filter [kh, kw, in, out]) that tf.grad differentiates on every backend,
 * with any stride and any dilation. tfjs-core's own gradient refuses dilation > 1 and the op refuses
 * stride and dilation both > 1, so dilation is rewritten into plain convolutions (see `dilated`).
 * On wasm and cpu padding is passed to the kernels as it is (LENNA's gradient kernels take any);
 * elsewhere the convolution is written in forms TensorFlow's native kernels take (see `portable`).
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, opts: ConvOptions): tf.Tensor4D {
  return convolve(x, filter, opts, REGULAR);
}

/** Depthwise 2-D convolution (filter [kh, kw, in, multiplier]) with the same guarantees as `conv2d`. */
export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, opts: ConvOptions): tf.Tensor4D {
  return convolve(x, filter, opts, DEPTHWISE);
}

function convolve(x: tf.Tensor4D, filter: tf.Tensor4D, opts: ConvOptions, kind: ConvKind): tf.Tensor4D {
  // Cheap once done: a caller that set a backend without initBackend still gets gradients that work.
  registerLennaKernels();
  const depthwise = kind === DEPTHWISE;
  const stride = checkPositiveInt('stride', opts.stride ?? 1);
  const dilation = checkPositiveInt('dilation', opts.dilation ?? 1);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, stride, dilation, explicitOrNamed(opts.pad), undefined, depthwise);
  if (info.outHeight < 1 || info.outWidth < 1) {
    throw new UserError(
      `A ${filter.shape[0]}×${filter.shape[1]} filter with dilation ${dilation} and pad ${JSON.stringify(opts.pad)} does not fit the ${x.shape[1]}×${x.shape[2]} input; use a larger input, 'same' padding or a smaller filter.`,
    );
  }
  if (dilation > 1) return tf.tidy(() => dilated(x, filter, stride, dilation, info.padInfo, kind));
  if (hasLennaKernels(tf.getBackend())) return kind.plain(x, filter, stride, explicitPads(info.padInfo));
  return tf.tidy(() => portable(x, filter, stride, info, kind));
}

/**
 * The same undilated convolution in the forms whose gradients TensorFlow's native kernels take
 * (tfjs-node's Conv2DBackpropInput/Filter refuse explicit padding): 'valid' without padding, 'same'
 * where TensorFlow's SAME lands the windows on the same pixels (stride 1 with an odd filter and
 * symmetric padding, as DARTS pads), else tf.pad then 'valid' (a strided convolution with symmetric
 * padding, where SAME would pad the bottom instead of the top).
 */
function portable(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, info: tf.backend_util.Conv2DInfo, kind: ConvKind): tf.Tensor4D {
  const { top, bottom, left, right } = info.padInfo;
  if (top + bottom + left + right === 0) return kind.plain(x, filter, stride, 'valid');
  if (sameLandsOn(info, tf.backend_util.computeConv2DInfo(x.shape, filter.shape, stride, 1, 'same', undefined, kind === DEPTHWISE))) {
    return kind.plain(x, filter, stride, 'same');
  }
  return kind.plain(tf.pad(x, explicitPads(info.padInfo)), filter, stride, 'valid');
}

/** Whether 'same' reads the same pixels as `info`: the same leading padding and output size (trailing padding beyond the last window is never read). */
export function sameLandsOn(info: SpatialInfo, same: SpatialInfo): boolean {
  return (
    same.padInfo.top === info.padInfo.top && same.padInfo.left === info.padInfo.left && same.outHeight === info.outHeight && same.outWidth === info.outWidth
  );
}

interface SpatialInfo {
  padInfo: tf.backend_util.PadInfo;
  outHeight: number;
  outWidth: number;
}

export function explicitPads(pad: tf.backend_util.PadInfo): tf.backend_util.ExplicitPadding {
  return [[0, 0], [pad.top, pad.bottom], [pad.left, pad.right], [0, 0]];
}

/**
 * A stride-1 dilated convolution straight on the backend's kernels, with LENNA's gradient kernels
 * (which take dilation) as its gradient: tfjs-core's own gradient refuses dilation > 1.
 */
function directDilated(kind: ConvKind, dilation: number, pad: tf.backend_util.ExplicitPadding): (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D {
  const [forward, inputGrad, filterGrad] = kind.kernels;
  const attrs = { strides: 1, pad, dilations: dilation, dataFormat: 'NHWC' } as unknown as tf.NamedAttrMap;
  const run = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) =>
    tf.engine().runKernel(name, inputs, { ...attrs, ...extra }) as tf.Tensor4D;
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, filter, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x, filter]);
    return {
      value: run(forward, { x, filter }, {}),
      gradFunc: (dys: tf.Tensor | tf.Tensor[], [xs, fs]: tf.Tensor[]) => {
        const dy = dys as tf.Tensor4D; // one output, so one dy
        return [
          run(inputGrad, { dy, filter: fs }, { inputShape: xs.shape }),
          run(filterGrad, { x: xs, dy }, { filterShape: fs.shape }),
        ];
      },
    };
  }) as (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * With input padded (xp), out[i] = Σ_k xp[s·i + d·k]·f[k].
 * - s = d: out[i] = Σ_k xp[d·(i+k)]·f[k], a plain convolution over xp[::d] (the DARTS reduction dil_conv).
 * - s = 1 on wasm and cpu: the backend's dilated kernel with LENNA's gradient kernels (`directDilated`).
 * - s = 1 elsewhere: space-to-batch by d splits xp into d² phase images; a plain convolution of each, put
 *   back by batch-to-space, is the dilated convolution (how TensorFlow does atrous convolution; its native
 *   depthwise kernel does not read the dilations attribute, and tfjs-node's gradient kernels drop it).
 *   On wasm these two ops cost ~50× the convolution, hence the direct path there.
 * - otherwise: the s = 1 result subsampled every s pixels.
 * Subsampling is reshape + slice (StridedSlice has no gradient in tfjs 4.22).
 */
function dilated(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, dilation: number, pad: tf.backend_util.PadInfo, kind: ConvKind): tf.Tensor4D {
  if (stride === dilation) return kind.plain(subsample(tf.pad(x, explicitPads(pad)), dilation), filter, 1, 'valid');
  if (hasLennaKernels(tf.getBackend())) {
    const out = directDilated(kind, dilation, explicitPads(pad))(x, filter);
    return stride === 1 ? out : subsample(out, stride);
  }
  const [, h, w] = x.shape;
  const extraH = mod(-(h + pad.top + pad.bottom), dilation);
  const extraW = mod(-(w + pad.left + pad.right), dilation);
  const phases = tf.spaceToBatchND(x, [dilation, dilation], [
    [pad.top, pad.bottom + extraH],
    [pad.left, pad.right + extraW],
  ]);
  const out = tf.batchToSpaceND(kind.plain(phases, filter, 1, 'valid'), [dilation, dilation], [
    [0, extraH],
    [0, extraW],
  ]) as tf.Tensor4D;
  return stride === 1 ? out : subsample(out, stride);
}

/**
 * x[:, ::s, ::s, :] by padding to a multiple of s and keeping phase 0 of each axis, each a rank-4
 * reshape + slice (StridedSlice has no gradient in tfjs 4.22; rank-5 slices are ~100× slower on wasm).
 */
export function subsample(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const hs = Math.ceil(h / s), ws = Math.ceil(w / s);
  const padded = hs * s === h && ws * s === w ? x : tf.pad(x, [[0, 0], [0, hs * s - h], [0, ws * s - w], [0, 0]]);
  const rows = tf.slice(tf.reshape(padded, [n * hs, s, ws * s, c]), [0, 0, 0, 0], [n * hs, 1, ws * s, c]);
  const cols = tf.slice(tf.reshape(rows, [n * hs, ws, s, c]), [0, 0, 0, 0], [n * hs, ws, 1, c]);
  return tf.reshape(cols, [n, hs, ws, c]);
}

function explicitOrNamed(pad: ConvOptions['pad']): 'same' | 'valid' | tf.backend_util.ExplicitPadding {
  if (pad === 'same' || pad === 'valid') return pad;
  const p = checkNonNegativeInt('pad', pad);
  return [[0, 0], [p, p], [p, p], [0, 0]];
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

function checkPositiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new UserError(`The convolution option ${name}=${value} is not allowed; it must be a positive integer.`);
  }
  return value;
}

function checkNonNegativeInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new UserError(`The convolution option ${name}=${String(value)} is not allowed; use 'same', 'valid' or a non-negative integer.`);
  }
  return value;
}
