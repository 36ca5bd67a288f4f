import * as tf from '@tensorflow/tfjs';

/**
 * Direct access to a float32 tensor's values on the cpu backend (a JS array) or the wasm backend
 * (a view of its heap), so a kernel written as a plain loop works on both without copies.
 */
interface WasmLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}
interface CpuLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

export function floatValues(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`LENNA kernels take float32 tensors, got ${info.dtype}.`);
  if (isWasm(backend)) return backend.typedArrayFromHeap(info);
  const values = (backend as unknown as CpuLike).data.get(info.dataId).values;
  if (!(values instanceof Float32Array)) throw new Error('LENNA kernels need a cpu tensor with float32 values.');
  return values;
}

/** The backends whose memory these helpers know. */
export const HEAP_BACKENDS = ['wasm', 'cpu'] as const;

/**
 * Allocates float32 outputs of the given shapes, then calls `fill(outputs, inputs)` with views of
 * them all. On wasm the views are taken after every allocation, since allocating may grow (and so
 * detach) the heap; wasm outputs are not cleared, so `fill` must write every element.
 */
export function withFloatOutputs(
  backend: tf.KernelBackend,
  shapes: number[][],
  inputs: tf.TensorInfo[],
  fill: (outputs: Float32Array[], inputs: Float32Array[]) => void,
): tf.TensorInfo[] {
  if (isWasm(backend)) {
    const infos = shapes.map((s) => backend.makeOutput(s, 'float32'));
    fill(
      infos.map((i) => backend.typedArrayFromHeap(i)),
      inputs.map((i) => floatValues(backend, i)),
    );
    return infos;
  }
  const outs = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(
    outs,
    inputs.map((i) => floatValues(backend, i)),
  );
  return outs.map((values, i) => (backend as unknown as CpuLike).makeTensorInfo(shapes[i], 'float32', values));
}

/** One zero-filled float32 output that `fill` writes (see withFloatOutputs). */
export function makeFloatOutput(
  backend: tf.KernelBackend,
  shape: number[],
  inputs: tf.TensorInfo[],
  fill: (out: Float32Array, ...inputs: Float32Array[]) => void,
): tf.TensorInfo {
  return withFloatOutputs(backend, [shape], inputs, ([out], values) => {
    if (isWasm(backend)) out.fill(0);
    fill(out, ...values);
  })[0];
}

function isWasm(backend: tf.KernelBackend): backend is tf.KernelBackend & WasmLike {
  return typeof (backend as unknown as Partial<WasmLike>).typedArrayFromHeap === 'function';
}

type Numeric = Float32Array | Int32Array;

/** A float32 or int32 tensor's values on cpu (its array) or wasm (a heap view); undefined for any other. */
export function numericValues(backend: tf.KernelBackend, info: tf.TensorInfo): Numeric | undefined {
  if (info.dtype !== 'float32' && info.dtype !== 'int32') return undefined;
  if (isWasm(backend)) return backend.typedArrayFromHeap(info) as Numeric;
  const values = (backend as unknown as CpuLike).data.get(info.dataId).values;
  return values instanceof Float32Array || values instanceof Int32Array ? values : undefined;
}

/**
 * An output of `input`'s dtype that `fill` writes (wasm: uninitialised heap memory, and the input's
 * view taken after allocating, which may grow the heap).
 */
export function makeNumericOutput(backend: tf.KernelBackend, shape: number[], input: tf.TensorInfo, fill: (out: Numeric, values: Numeric) => void): tf.TensorInfo {
  const dtype = input.dtype as 'float32' | 'int32';
  if (isWasm(backend)) {
    const info = (backend.makeOutput as (s: number[], d: string) => tf.TensorInfo)(shape, dtype);
    fill(backend.typedArrayFromHeap(info) as Numeric, numericValues(backend, input) as Numeric);
    return info;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  fill(out, numericValues(backend, input) as Numeric);
  return (backend as unknown as { makeTensorInfo(s: number[], d: string, v: Numeric): tf.TensorInfo }).makeTensorInfo(shape, dtype, out);
}

/** Copies values[src, src + run) to out[dst…): short runs element by element (a subarray per run costs more than the copy). */
export function copyRun(out: Numeric, dst: number, values: Numeric, src: number, run: number): void {
  if (run >= 64) out.set(values.subarray(src, src + run), dst);
  else for (let t = 0; t < run; t++) out[dst + t] = values[src + t];
}
