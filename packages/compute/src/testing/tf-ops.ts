import * as tf from '@tensorflow/tfjs';

/** A tensor as the stand-in binding holds it. */
export interface HeldTensor {
  shape: number[];
  dtype: tf.DataType;
  values: tf.backend_util.BackendValues;
}

export type TfAttrs = Record<string, unknown>;

/**
 * What TensorFlow computes for one op, by TensorFlow's own definition of its inputs and attributes
 * (tensorflow/core/ops/*_ops.cc), evaluated with tfjs's cpu kernels: inputs are positional
 * tensors as in TensorFlow (axes, shapes, paddings are tensors there), attributes by TensorFlow's names.
 * Requests a real TensorFlow would refuse or silently misread are errors here (see `windowAttrs`).
 */
export function executeTfOp(op: string, inputs: HeldTensor[], attrs: TfAttrs): HeldTensor[] {
  const evaluate = OPS[op];
  if (!evaluate) throw new Error(`the TensorFlow stand-in has no definition of the op ${op} (add it to tf-ops.ts, from TensorFlow's op registry).`);
  checkTypeAttr(op, inputs, attrs);
  return evaluate(inputs, attrs);
}

type Evaluate = (inputs: HeldTensor[], attrs: TfAttrs) => HeldTensor[];

/** Runs one of the cpu backend's kernels on held tensors and returns its outputs' values. */
function cpu(kernelName: string, inputs: Record<string, HeldTensor> | HeldTensor[], attrs: TfAttrs = {}): HeldTensor[] {
  const backend = tf.findBackend('cpu');
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (!backend || !kernel) throw new Error(`the cpu backend has no ${kernelName} kernel.`);
  const made: tf.TensorInfo[] = [];
  const info = (t: HeldTensor): tf.TensorInfo => {
    const i = { dataId: backend.write(t.values, t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    made.push(i);
    return i;
  };
  const named = Array.isArray(inputs) ? inputs.map(info) : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, info(t)]));
  const result = kernel.kernelFunc({ inputs: named as unknown as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap });
  const outputs = Array.isArray(result) ? result : [result];
  const held = outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, values: tfArray(backend.readSync(o.dataId), o.dtype) }));
  for (const i of [...made, ...outputs]) backend.disposeData(i.dataId);
  return held;
}

/**
 * The values in the array type TensorFlow holds for the dtype, converted where tfjs's cpu kernels keep
 * another (OneHot's int32 output in a Float32Array, an int32 → float32 Cast sharing its Int32Array).
 * Arrays are shared, not copied: neither tfjs's backends nor the stand-in write into a tensor's values.
 */
export function tfArray(values: tf.backend_util.BackendValues, dtype: tf.DataType): tf.backend_util.BackendValues {
  const Type = { float32: Float32Array, int32: Int32Array, bool: Uint8Array }[dtype as 'float32' | 'int32' | 'bool'];
  if (!Type || !ArrayBuffer.isView(values) || values instanceof Type) return values;
  return Type.from(values as Float32Array);
}

const ints = (t: HeldTensor): number[] => Array.from(t.values as Int32Array);
const scalar = (t: HeldTensor): number => Number((t.values as Float32Array)[0]);
const zeros = (shape: number[]): HeldTensor => ({ shape, dtype: 'float32', values: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

const unary = (kernel: string): Evaluate => ([x]) => cpu(kernel, { x });
const binary = (kernel: string): Evaluate => ([a, b]) => cpu(kernel, { a, b });
const reduction = (kernel: string): Evaluate => ([x, axes], attrs) => cpu(kernel, { x }, { axis: ints(axes), keepDims: attrs.keep_dims === true });

/**
 * Windowed ops (convolutions, pools, their gradients): NHWC only, strides/ksize [1, h, w, 1], padding
 * SAME or VALID, or EXPLICIT with its 8 explicit_paddings where the op takes it. Dilation must be 1:
 * TensorFlow's DepthwiseConv2dNative kernels do not read their dilations attribute (the output would
 * be silently undilated), and tfjs-node's Conv2D gradient kernels send dilation 1 whatever the
 * forward used; LENNA rewrites dilation into undilated convolutions on this backend.
 */
function windowAttrs(op: string, attrs: TfAttrs, explicitAllowed: boolean): { strides: [number, number]; pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding; size?: [number, number] } {
  const fail = (what: string): never => {
    throw new Error(`TensorFlow would refuse ${op} with ${what}.`);
  };
  if ((attrs.data_format ?? 'NHWC') !== 'NHWC') fail(`data_format ${String(attrs.data_format)} (LENNA uses NHWC)`);
  const four = (name: string): [number, number] => {
    const v = attrs[name] as number[] | undefined;
    if (!Array.isArray(v) || v.length !== 4 || v[0] !== 1 || v[3] !== 1) fail(`${name}=${JSON.stringify(v)} (it must be [1, h, w, 1])`);
    return [v![1], v![2]];
  };
  const dilations = attrs.dilations as number[] | undefined;
  if (dilations && dilations.some((d) => d !== 1)) fail(`dilations ${JSON.stringify(dilations)} (not relied on: its native depthwise kernels ignore dilation)`);
  const strides = four('strides');
  const size = attrs.ksize === undefined ? undefined : four('ksize');
  const padding = attrs.padding;
  if (padding === 'SAME') return { strides, pad: 'same', size };
  if (padding === 'VALID') return { strides, pad: 'valid', size };
  if (padding !== 'EXPLICIT' || !explicitAllowed) fail(`padding ${JSON.stringify(padding)} (it takes ${explicitAllowed ? "'SAME', 'VALID' or 'EXPLICIT'" : "'SAME' or 'VALID'"})`);
  const p = attrs.explicit_paddings as number[] | undefined;
  if (!Array.isArray(p) || p.length !== 8 || p[0] !== 0 || p[1] !== 0 || p[6] !== 0 || p[7] !== 0) fail(`explicit_paddings ${JSON.stringify(p)}`);
  return { strides, pad: [[0, 0], [p![2], p![3]], [p![4], p![5]], [0, 0]], size };
}

function conv(kernel: string): Evaluate {
  return ([x, filter], attrs) => {
    const { strides, pad } = windowAttrs(kernel, attrs, true);
    return cpu(kernel, { x, filter }, { strides, pad, dilations: 1, dataFormat: 'NHWC' });
  };
}

function convInputGrad(kernel: string): Evaluate {
  return ([inputSizes, filter, dy], attrs) => {
    const { strides, pad } = windowAttrs(kernel, attrs, true);
    return cpu(kernel, { dy, filter }, { inputShape: ints(inputSizes), strides, pad, dilations: 1, dataFormat: 'NHWC' });
  };
}

function convFilterGrad(kernel: string): Evaluate {
  return ([x, filterSizes, dy], attrs) => {
    const { strides, pad } = windowAttrs(kernel, attrs, true);
    return cpu(kernel, { x, dy }, { filterShape: ints(filterSizes), strides, pad, dilations: 1, dataFormat: 'NHWC' });
  };
}

function poolOp(kernel: string): Evaluate {
  return ([x], attrs) => {
    const { strides, pad, size } = windowAttrs(kernel, attrs, false);
    return cpu(kernel, { x }, { filterSize: size, strides, pad });
  };
}

const OPS: Record<string, Evaluate> = {
  ...Object.fromEntries(
    ['Relu', 'Exp', 'Log', 'Neg', 'Sqrt', 'Rsqrt', 'Square', 'Sign', 'Abs', 'Reciprocal', 'Sigmoid', 'Tanh', 'Floor', 'Ceil', 'IsNan', 'LogicalNot', 'ZerosLike', 'OnesLike'].map((op) => [op, unary(op)]),
  ),
  ...Object.fromEntries(
    [
      ['Mul', 'Multiply'], ['Add', 'Add'], ['AddV2', 'Add'], ['Sub', 'Sub'], ['RealDiv', 'RealDiv'], ['Div', 'RealDiv'], ['Maximum', 'Maximum'],
      ['Minimum', 'Minimum'], ['Equal', 'Equal'], ['NotEqual', 'NotEqual'], ['Greater', 'Greater'], ['GreaterEqual', 'GreaterEqual'], ['Less', 'Less'],
      ['LessEqual', 'LessEqual'], ['LogicalAnd', 'LogicalAnd'], ['LogicalOr', 'LogicalOr'], ['Pow', 'Pow'], ['SquaredDifference', 'SquaredDifference'],
    ].map(([op, kernel]) => [op, binary(kernel)]),
  ),
  ...Object.fromEntries(['Sum', 'Mean', 'Max', 'Min', 'Prod', 'All', 'Any'].map((op) => [op, reduction(op)])),
  ArgMax: ([x, axis]) => cpu('ArgMax', { x }, { axis: scalar(axis) }),
  ArgMin: ([x, axis]) => cpu('ArgMin', { x }, { axis: scalar(axis) }),
  Select: ([condition, t, e]) => cpu('Select', { condition, t, e }),
  Reshape: ([x, shape]) => cpu('Reshape', { x }, { shape: ints(shape) }),
  ExpandDims: ([input, dim]) => cpu('ExpandDims', { input }, { dim: scalar(dim) }),
  ConcatV2: (inputs) => cpu('Concat', inputs.slice(0, -1), { axis: scalar(inputs[inputs.length - 1]) }),
  Pack: (inputs, attrs) => cpu('Pack', inputs, { axis: attrs.axis ?? 0 }),
  Unpack: ([value], attrs) => cpu('Unpack', { value }, { axis: attrs.axis ?? 0 }),
  Transpose: ([x, perm]) => cpu('Transpose', { x }, { perm: ints(perm) }),
  Fill: ([dims, value]) => cpu('Fill', {}, { shape: ints(dims), value: scalar(value), dtype: value.dtype }),
  Cast: ([x], attrs) => cpu('Cast', { x }, { dtype: attrs.DstT }),
  Slice: ([x, begin, size]) => cpu('Slice', { x }, { begin: ints(begin), size: ints(size) }),
  StridedSlice: ([x, begin, end, strides], attrs) =>
    cpu('StridedSlice', { x }, {
      begin: ints(begin), end: ints(end), strides: ints(strides), beginMask: attrs.begin_mask ?? 0, endMask: attrs.end_mask ?? 0,
      ellipsisMask: attrs.ellipsis_mask ?? 0, newAxisMask: attrs.new_axis_mask ?? 0, shrinkAxisMask: attrs.shrink_axis_mask ?? 0,
    }),
  SplitV: ([x, sizes, axis]) => cpu('SplitV', { x }, { numOrSizeSplits: ints(sizes), axis: scalar(axis) }),
  PadV2: ([x, paddings, value]) => {
    const p = ints(paddings);
    return cpu('PadV2', { x }, { paddings: x.shape.map((_, i) => [p[2 * i], p[2 * i + 1]]), constantValue: scalar(value) });
  },
  Tile: ([x, multiples]) => cpu('Tile', { x }, { reps: ints(multiples) }),
  GatherV2: ([x, indices, axis], attrs) => cpu('GatherV2', { x, indices }, { axis: scalar(axis), batchDims: attrs.batch_dims ?? 0 }),
  OneHot: ([indices, depth, on, off], attrs) => {
    if ((attrs.axis ?? -1) !== -1) throw new Error('the TensorFlow stand-in takes OneHot on the last axis only.');
    return cpu('OneHot', { indices }, { depth: scalar(depth), onValue: scalar(on), offValue: scalar(off), dtype: attrs.T });
  },
  Softmax: ([logits]) => cpu('Softmax', { logits }, { dim: -1 }),
  AddN: (inputs) => cpu('AddN', inputs),
  BatchMatMulV2: ([a, b], attrs) => cpu('BatchMatMul', { a, b }, { transposeA: attrs.adj_x === true, transposeB: attrs.adj_y === true }),
  SpaceToBatchND: ([x, block, paddings]) => cpu('SpaceToBatchND', { x }, { blockShape: ints(block), paddings: pairs(ints(paddings)) }),
  BatchToSpaceND: ([x, block, crops]) => cpu('BatchToSpaceND', { x }, { blockShape: ints(block), crops: pairs(ints(crops)) }),
  Conv2D: conv('Conv2D'),
  DepthwiseConv2dNative: conv('DepthwiseConv2dNative'),
  Conv2DBackpropInput: convInputGrad('Conv2DBackpropInput'),
  DepthwiseConv2dNativeBackpropInput: convInputGrad('DepthwiseConv2dNativeBackpropInput'),
  Conv2DBackpropFilter: convFilterGrad('Conv2DBackpropFilter'),
  DepthwiseConv2dNativeBackpropFilter: convFilterGrad('DepthwiseConv2dNativeBackpropFilter'),
  MaxPool: poolOp('MaxPool'),
  AvgPool: poolOp('AvgPool'),
  MaxPoolGrad: ([input, output, dy], attrs) => {
    const { strides, pad, size } = windowAttrs('MaxPoolGrad', attrs, false);
    return cpu('MaxPoolGrad', { dy, input, output }, { filterSize: size, strides, pad });
  },
  // TensorFlow's AvgPoolGrad divides by each window's in-bounds count under SAME, as the forward does
  // (LENNA's cpu AvgPoolGrad; tfjs's own divides by the full window there).
  AvgPoolGrad: ([inputShape, dy], attrs) => {
    const { strides, pad, size } = windowAttrs('AvgPoolGrad', attrs, false);
    return cpu('AvgPoolGrad', { dy, input: zeros(ints(inputShape)) }, { filterSize: size, strides, pad });
  },
};

function pairs(flat: number[]): number[][] {
  return Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);
}

/** Ops whose every input is of type T: TensorFlow refuses a mixed call that tfjs would upcast. */
const ALL_INPUTS_T = new Set(['Mul', 'Add', 'AddV2', 'Sub', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'AddN', 'BatchMatMulV2', 'Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual']);

function checkTypeAttr(op: string, inputs: HeldTensor[], attrs: TfAttrs): void {
  if (!ALL_INPUTS_T.has(op)) return;
  const bad = inputs.find((t) => t.dtype !== attrs.T);
  if (bad) throw new Error(`TensorFlow would refuse ${op} with T=${String(attrs.T)} and an input of dtype ${bad.dtype}.`);
}
