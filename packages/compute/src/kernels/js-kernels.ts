import * as tf from '@tensorflow/tfjs';
import { forwardInfo } from './conv-grads.js';
import { makeFloatOutput } from './heap.js';
import { avgPoolGradLoop, depthwiseFilterGradLoop, maxPoolGradLoop } from './loops.js';
import { depthwiseFilterGradSimd, maxPoolGradSimd } from './simd-kernels.js';
import { filterGradSimd, simdFilterGradFits } from './filter-grad-simd.js';

type Shape4 = [number, number, number, number];
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Kernels written as loops over the tensors' memory, for cpu and wasm alike. */

export function depthwiseBackpropFilterKernel({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as Parameters<typeof forwardInfo>[2] & { filterShape: Shape4 };
  const info = forwardInfo(x.shape as Shape4, a.filterShape, a, true);
  if (simdFilterGradFits(info, true)) return filterGradSimd(info, true, backend as tf.KernelBackend, x, dy);
  if (info.strideHeight === 1 && info.strideWidth === 1 && a.filterShape[3] === 1) {
    const dw = depthwiseFilterGradSimd(info, backend as tf.KernelBackend, x, dy);
    return makeFloatOutput(backend as tf.KernelBackend, a.filterShape, [], (out) => out.set(dw));
  }
  return makeFloatOutput(backend as tf.KernelBackend, a.filterShape, [x, dy], (out, xv, dyv) =>
    depthwiseFilterGradLoop(info, xv, dyv, out),
  );
}

/** Conv2DBackpropFilter as SIMD tiles where they fit (output channels a multiple of 4), else `fallback`. */
export function conv2DBackpropFilterKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as unknown as Parameters<typeof forwardInfo>[2] & { filterShape: Shape4 };
    const info = forwardInfo(x.shape as Shape4, a.filterShape, a, false);
    return simdFilterGradFits(info, false) ? filterGradSimd(info, false, args.backend as tf.KernelBackend, x, dy) : fallback(args);
  };
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolInfo(input: tf.TensorInfo, attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(input.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

export function maxPoolGradKernel({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { dy, input, output } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const info = poolInfo(input, attrs as unknown as PoolAttrs);
  if (info.strideHeight === 1 && info.strideWidth === 1) return maxPoolGradSimd(info, backend as tf.KernelBackend, input, output, dy);
  return makeFloatOutput(backend as tf.KernelBackend, input.shape, [input, dy], (out, xv, dyv) => maxPoolGradLoop(info, xv, dyv, out));
}

export function avgPoolGradKernel({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input, attrs as unknown as PoolAttrs);
  return makeFloatOutput(backend as tf.KernelBackend, input.shape, [dy], (out, dyv) => avgPoolGradLoop(info, dyv, out));
}
