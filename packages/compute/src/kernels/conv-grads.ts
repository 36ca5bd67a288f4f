import * as tf from '@tensorflow/tfjs';
import { KernelGraph } from './graph.js';

type Info = tf.TensorInfo;
type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Geometry of the forward convolution that a gradient kernel differentiates. */
export function forwardInfo(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('LENNA gradient kernels support NHWC only.');
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

/**
 * The filter gradient dW[kh,kw,·] = Σ_{n,i,j} x[n, s·i + d·kh − pad, …] · dy[n,i,j,·] is itself a
 * convolution: x (padded) correlated with dy used as a filter dilated by the stride. Bottom/right
 * padding is whatever makes the output exactly the filter size.
 */
function filterGradPadding(info: tf.backend_util.Conv2DInfo): Array<[number, number]> {
  const rows = info.dilationHeight * (info.filterHeight - 1) + info.strideHeight * (info.outHeight - 1) + 1;
  const cols = info.dilationWidth * (info.filterWidth - 1) + info.strideWidth * (info.outWidth - 1) + 1;
  const { top, left } = info.padInfo;
  return [
    [top, rows - top - info.inHeight],
    [left, cols - left - info.inWidth],
  ];
}

/** A convolution over `image` with stride `dilation` and dilation `stride`: the roles swap. */
function swappedConvAttrs(info: tf.backend_util.Conv2DInfo): Record<string, unknown> {
  return {
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pad: 'valid',
    dataFormat: 'NHWC',
  };
}

export function conv2DBackpropFilter(g: KernelGraph, x: Info, dy: Info, attrs: ConvAttrs & { filterShape: Shape4 }): Info {
  const info = forwardInfo(x.shape as Shape4, attrs.filterShape, attrs, false);
  if (isPointwise(info)) return pointwiseFilterGrad(g, x, dy, info);
  const [ph, pw] = filterGradPadding(info);
  // Channels become the batch and the batch becomes the channels being summed over.
  const transposed = g.transpose(x, [3, 1, 2, 0]);
  const filter = g.transpose(dy, [1, 2, 0, 3]);
  // Padding only (no crop): the convolution pads by itself, without copying the image.
  const padOnly = [...ph, ...pw].every((p) => p >= 0);
  const image = padOnly ? transposed : g.padOrCrop(transposed, [[0, 0], ph, pw, [0, 0]]);
  const pad = padOnly ? [[0, 0], ph, pw, [0, 0]] : 'valid';
  const out = g.run('Conv2D', { x: image, filter }, { ...swappedConvAttrs(info), pad }); // [Ci, Kh, Kw, Co]
  return g.finish(g.transpose(out, [1, 2, 0, 3]));
}

function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && top + bottom + left + right === 0;
}

/** A 1×1 convolution is a matrix product over pixels, so its filter gradient is xᵀ·dy (strided: x subsampled first). */
function pointwiseFilterGrad(g: KernelGraph, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info {
  const [n, oh, ow, co] = dy.shape;
  const ci = x.shape[3];
  const sampled = g.subsample(x, info.strideHeight, info.strideWidth, oh, ow);
  // An explicit transpose then a plain product is ~2× faster on wasm than BatchMatMul's transposeA.
  const a = g.reshape(g.transposeMatrix(g.reshape(sampled, [n * oh * ow, ci])), [1, ci, n * oh * ow]);
  const b = g.reshape(dy, [1, n * oh * ow, co]);
  const product = g.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  return g.finish(g.reshape(product, [1, 1, ci, co]));
}

/**
 * A 1×1 convolution's input gradient is dy·Wᵀ (itself a 1×1 convolution) at the output's resolution,
 * then spread by the stride: no multiplications by the zeros a strided spread inserts.
 */
function pointwiseInputGrad(g: KernelGraph, dy: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info {
  const transposed = g.transpose(filter, [0, 1, 3, 2]);
  const low = g.run('Conv2D', { x: dy, filter: transposed }, { strides: 1, dilations: 1, pad: 'valid', dataFormat: 'NHWC' });
  const spread = g.insertZeros(low, info.strideHeight, info.strideWidth);
  return g.finish(g.padOrCrop(spread, [[0, 0], [0, info.inHeight - spread.shape[1]], [0, info.inWidth - spread.shape[2]], [0, 0]]));
}

/**
 * The input gradient is a full correlation of dy (zeros inserted between pixels for the stride)
 * with the filter flipped in space, dilated as the forward one was.
 */
function inputGradPadding(info: tf.backend_util.Conv2DInfo): Array<[number, number]> {
  const spanH = info.dilationHeight * (info.filterHeight - 1);
  const spanW = info.dilationWidth * (info.filterWidth - 1);
  const { top, left } = info.padInfo;
  const rows = info.strideHeight * info.outHeight; // after zero insertion
  const cols = info.strideWidth * info.outWidth;
  return [
    [spanH - top, info.inHeight + top - rows],
    [spanW - left, info.inWidth + left - cols],
  ];
}

function flippedConvAttrs(info: tf.backend_util.Conv2DInfo, pad: 'valid' | tf.backend_util.ExplicitPadding): Record<string, unknown> {
  return { strides: 1, dilations: [info.dilationHeight, info.dilationWidth], pad, dataFormat: 'NHWC' };
}

/**
 * dy ready for the flipped-filter correlation, and the padding that correlation takes: at stride 1
 * with no cropping the forward kernel pads by itself (XNNPACK reads the border virtually), which
 * saves copying dy; otherwise dy is spread, padded and cropped here and the correlation is 'valid'.
 */
function spreadDy(g: KernelGraph, dy: Info, info: tf.backend_util.Conv2DInfo): { image: Info; pad: 'valid' | tf.backend_util.ExplicitPadding } {
  const [ph, pw] = inputGradPadding(info);
  if (info.strideHeight === 1 && info.strideWidth === 1 && [...ph, ...pw].every((p) => p >= 0)) {
    return { image: dy, pad: [[0, 0], ph, pw, [0, 0]] };
  }
  return { image: g.padOrCrop(g.insertZeros(dy, info.strideHeight, info.strideWidth), [[0, 0], ph, pw, [0, 0]]), pad: 'valid' };
}

/** A k×k convolution at stride k with no padding or dilation: each input pixel is under exactly one tap of one window. */
function isPatchwise(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, left } = info.padInfo;
  const k = info.filterHeight;
  return k > 1 && info.filterWidth === k && info.strideHeight === k && info.strideWidth === k &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && top === 0 && left === 0;
}

/**
 * Then dx[n, k·i + a, k·j + b, ·] = W[a, b] · dy[n, i, j]: one 1×1 convolution of dy with the filter
 * laid out as [Co, k·k·Ci], whose channels depth-to-space moves to their pixels (nn's factorized reduce
 * runs as a 2×2 stride-2 convolution; spreading dy with zeros would cost 4× the multiplications).
 * Rows and columns no window reaches (a 'valid' remainder) get zeros.
 */
function patchwiseInputGrad(g: KernelGraph, dy: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info {
  const [k, , ci, co] = filter.shape;
  const laidOut = g.reshape(g.transpose(filter, [3, 0, 1, 2]), [1, 1, co, k * k * ci]);
  const low = g.run('Conv2D', { x: dy, filter: laidOut }, { strides: 1, dilations: 1, pad: 'valid', dataFormat: 'NHWC' });
  return g.finish(g.depthToSpace(low, k, info.inHeight, info.inWidth));
}

export function conv2DBackpropInput(g: KernelGraph, dy: Info, filter: Info, attrs: ConvAttrs & { inputShape: Shape4 }): Info {
  const info = forwardInfo(attrs.inputShape, filter.shape as Shape4, attrs, false);
  if (isPointwise(info)) return pointwiseInputGrad(g, dy, filter, info);
  if (isPatchwise(info)) return patchwiseInputGrad(g, dy, filter, info);
  const { image, pad } = spreadDy(g, dy, info);
  const flipped = g.flipFilter(filter, true);
  return g.finish(g.run('Conv2D', { x: image, filter: flipped }, flippedConvAttrs(info, pad)));
}

/** Depthwise input gradient: each channel's dy correlated with its flipped filter (multipliers summed). */
export function depthwiseBackpropInput(g: KernelGraph, dy: Info, filter: Info, attrs: ConvAttrs & { inputShape: Shape4 }): Info {
  const info = forwardInfo(attrs.inputShape, filter.shape as Shape4, attrs, true);
  const [kh, kw, c, mult] = filter.shape;
  const { image, pad } = spreadDy(g, dy, info);
  const flipped = g.reshape(g.flipFilter(filter, false), [kh, kw, c * mult, 1]);
  const out = g.run('DepthwiseConv2dNative', { x: image, filter: flipped }, flippedConvAttrs(info, pad));
  if (mult === 1) return g.finish(out);
  const [n, h, w] = out.shape;
  const summed = g.run('Sum', { x: g.reshape(out, [n, h, w, c, mult]) }, { axis: [4], keepDims: false });
  return g.finish(summed);
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Average-pool gradient as a depthwise transposed convolution with a ones filter, on the backend's fast
 * depthwise kernel: dy is first divided by each window's count of in-bounds pixels, which is what the
 * forward kernels divide by (tfjs 4.22's own AvgPoolGrad divides by the full window: wrong at 'same' borders).
 */
export function avgPoolGrad(g: KernelGraph, dy: Info, input: Info, attrs: PoolAttrs): Info {
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [, oh, ow, c] = dy.shape;
  const counts = g.constant([1, oh, ow, 1], (v) => fillInverseCounts(info, v));
  const scaled = g.run('Multiply', { a: dy, b: counts });
  const ones = g.constant([info.filterHeight, info.filterWidth, c, 1], (v) => v.fill(1));
  return depthwiseBackpropInput(g, scaled, ones, { strides: attrs.strides, pad: attrs.pad, dimRoundingMode: attrs.dimRoundingMode, inputShape: input.shape as Shape4 });
}

function fillInverseCounts(info: tf.backend_util.Conv2DInfo, out: Float32Array): void {
  const span = (start: number, size: number, limit: number) => Math.min(start + size, limit) - Math.max(start, 0);
  for (let i = 0; i < info.outHeight; i++) {
    const rows = span(i * info.strideHeight - info.padInfo.top, info.filterHeight, info.inHeight);
    for (let j = 0; j < info.outWidth; j++) {
      const cols = span(j * info.strideWidth - info.padInfo.left, info.filterWidth, info.inWidth);
      out[i * info.outWidth + j] = 1 / (rows * cols);
    }
  }
}
