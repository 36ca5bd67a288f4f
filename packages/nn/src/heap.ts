import * as tf from '@tensorflow/tfjs';

/**
 * Direct access to float32 tensor values inside a kernel, on the cpu backend (its JS arrays) and
 * the wasm backend (views of its heap), so a fused loop reads and writes them without copies.
 */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface CpuBackendLike {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** The backends whose memory these helpers know. */
export const HEAP_BACKENDS = ['wasm', 'cpu'] as const;

function isWasm(backend: unknown): backend is WasmBackendLike {
  return typeof (backend as Partial<WasmBackendLike>).typedArrayFromHeap === 'function';
}

function floatView(backend: unknown, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`Fused kernels take float32 tensors, got ${info.dtype}.`);
  if (isWasm(backend)) return backend.typedArrayFromHeap(info);
  const values = (backend as CpuBackendLike).readSync(info.dataId);
  if (!(values instanceof Float32Array)) throw new Error('Fused kernels need float32 values on the cpu backend.');
  return values;
}

/**
 * Allocates float32 outputs of the given shapes, then calls `fill(outputs, inputs)` with views of
 * them all. On wasm the views are taken after every allocation, since allocating may grow (and so
 * detach) the heap; wasm outputs are not cleared, so `fill` must write every element.
 */
export function withFloatOutputs(
  backend: unknown,
  shapes: number[][],
  inputs: tf.TensorInfo[],
  fill: (outputs: Float32Array[], inputs: Float32Array[]) => void,
): tf.TensorInfo[] {
  if (isWasm(backend)) {
    const infos = shapes.map((s) => backend.makeOutput(s, 'float32'));
    fill(
      infos.map((i) => backend.typedArrayFromHeap(i)),
      inputs.map((i) => floatView(backend, i)),
    );
    return infos;
  }
  const outs = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(
    outs,
    inputs.map((i) => floatView(backend, i)),
  );
  return outs.map((values, i) => (backend as CpuBackendLike).makeTensorInfo(shapes[i], 'float32', values));
}
