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

/**
 * Makes a zero-filled float32 output, lets `fill` write it, and returns its TensorInfo. On wasm the
 * input views are taken after the output is allocated, since allocating may grow (and so detach) the heap.
 */
export function makeFloatOutput(
  backend: tf.KernelBackend,
  shape: number[],
  inputs: tf.TensorInfo[],
  fill: (out: Float32Array, ...inputs: Float32Array[]) => void,
): tf.TensorInfo {
  if (isWasm(backend)) {
    const info = backend.makeOutput(shape, 'float32');
    const out = backend.typedArrayFromHeap(info);
    out.fill(0);
    fill(out, ...inputs.map((i) => floatValues(backend, i)));
    return info;
  }
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(out, ...inputs.map((i) => floatValues(backend, i)));
  return (backend as unknown as CpuLike).makeTensorInfo(shape, 'float32', out);
}

function isWasm(backend: tf.KernelBackend): backend is tf.KernelBackend & WasmLike {
  return typeof (backend as unknown as Partial<WasmLike>).typedArrayFromHeap === 'function';
}
