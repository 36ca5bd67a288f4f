import * as tf from '@tensorflow/tfjs';
import { copyRun, makeNumericOutput, numericValues } from './heap.js';

/**
 * The cpu backend's Slice reads and writes element by element through index arithmetic (~0.8 s for
 * a [32,32,32,16] crop); its gradient, concat's gradient and LENNA's strided subsampling all slice.
 * This one copies each contiguous run (the trailing axes the slice keeps whole) with one `set` (short runs element by element).
 * tfjs-wasm's Slice (and its SplitV, which calls it) is a per-element loop too (~2 ms for that crop):
 * the same copies run on its heap.
 */
export function cpuSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as tf.KernelBackend;
    if (x.shape.length === 0 || !numericValues(backend, x)) return original(args);
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    return makeNumericOutput(backend, size, x, (out, values) => sliceValues(values, x.shape, begin, size, out));
  };
}

function sliceValues(values: Float32Array | Int32Array, shape: number[], begin: number[], size: number[], out: Float32Array | Int32Array): void {
  const rank = shape.length;
  if (out.length === 0) return;
  // The run: the innermost axes the slice keeps whole, plus the next one (partly kept).
  let inner = rank - 1, run = size[rank - 1];
  while (inner > 0 && size[inner] === shape[inner]) run *= size[--inner];
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  const index = new Array<number>(inner).fill(0);
  for (let o = 0; o < out.length; o += run) {
    let src = begin[inner] * strides[inner];
    for (let d = 0; d < inner; d++) src += (begin[d] + index[d]) * strides[d];
    for (let d = inner + 1; d < rank; d++) src += begin[d] * strides[d];
    copyRun(out, o, values, src, run);
    for (let d = inner - 1; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
  }
}

/** The cpu backend's SplitV (concat's gradient) calls its slow slice directly: split with the fast one. */
export function cpuSplitV(original: tf.KernelFunc): tf.KernelFunc {
  const slice = cpuSlice(() => {
    throw new Error('unreachable: numeric inputs only');
  });
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.shape.length === 0 || !numericValues(args.backend as tf.KernelBackend, x)) return original(args);
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const piece = slice({ ...args, attrs: { begin: [...begin], size } }) as tf.TensorInfo;
      begin[$axis] += s;
      return piece;
    });
  };
}
