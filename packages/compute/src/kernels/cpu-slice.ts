import * as tf from '@tensorflow/tfjs';

/**
 * The cpu backend's Slice reads and writes element by element through index arithmetic (~0.8 s for
 * a [32,32,32,16] crop); its gradient, concat's gradient and LENNA's strided subsampling all slice.
 * This one copies each contiguous run (the trailing axes the slice keeps whole) with one `set`.
 */
export function cpuSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = (args.backend as { data: { get(id: object): { values?: unknown } } }).data.get(x.dataId).values;
    if (x.shape.length === 0 || !(values instanceof Float32Array || values instanceof Int32Array)) return original(args);
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    const out = sliceValues(values, x.shape, begin, size);
    return (args.backend as unknown as { makeTensorInfo(s: number[], d: string, v: unknown): tf.TensorInfo }).makeTensorInfo(size, x.dtype, out);
  };
}

function sliceValues(values: Float32Array | Int32Array, shape: number[], begin: number[], size: number[]): Float32Array | Int32Array {
  const rank = shape.length;
  const out = new (values.constructor as Float32ArrayConstructor | Int32ArrayConstructor)(size.reduce((a, b) => a * b, 1));
  if (out.length === 0) return out;
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
    out.set(values.subarray(src, src + run), o);
    for (let d = inner - 1; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
  }
  return out;
}

/** The cpu backend's SplitV (concat's gradient) calls its slow slice directly: split with the fast one. */
export function cpuSplitV(original: tf.KernelFunc): tf.KernelFunc {
  const slice = cpuSlice(() => {
    throw new Error('unreachable: numeric inputs only');
  });
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = (args.backend as { data: { get(id: object): { values?: unknown } } }).data.get(x.dataId).values;
    if (x.shape.length === 0 || !(values instanceof Float32Array || values instanceof Int32Array)) return original(args);
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
