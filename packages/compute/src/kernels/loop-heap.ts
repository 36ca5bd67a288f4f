import * as tf from '@tensorflow/tfjs';
import { simdLoops, wasmApi, type SimdLoops, type WasmMemory } from './simd.js';
import { floatValues } from './heap.js';

interface WasmBackendLike {
  wasm: { asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}
interface CpuBackendLike {
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

const PAGE = 65536;
let privateMemory: WasmMemory | undefined;

/**
 * Where the SIMD loops run: on wasm, tfjs's own heap (tensors in place, scratch allocated as tfjs
 * buffers); on cpu, a private wasm memory the tensors are copied into. Scratch buffers start zeroed.
 */
export class LoopHeap {
  readonly loops: SimdLoops;
  /** Byte offsets of the input tensors, then of the scratch buffers. */
  readonly inputs: number[];
  readonly scratch: number[];
  private readonly wasmScratch: tf.TensorInfo[] = [];

  constructor(
    private readonly backend: tf.KernelBackend,
    tensors: tf.TensorInfo[],
    scratchFloats: number[],
    zeroed = true,
  ) {
    const wasm = asWasm(backend);
    if (wasm) {
      this.wasmScratch = scratchFloats.map((n) => wasm.makeOutput([n], 'float32'));
      this.loops = simdLoops(wasm.wasm.asm.memory);
      this.inputs = tensors.map((t) => wasm.dataIdMap.get(t.dataId).memoryOffset);
      this.scratch = this.wasmScratch.map((t) => wasm.dataIdMap.get(t.dataId).memoryOffset);
    } else {
      const sizes = [...tensors.map((t) => t.shape.reduce((a, b) => a * b, 1)), ...scratchFloats];
      const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, n) => a + align(n * 4), 0));
      this.loops = simdLoops(privateHeap(offsets[offsets.length - 1] + align(sizes[sizes.length - 1] * 4)));
      this.inputs = offsets.slice(0, tensors.length);
      this.scratch = offsets.slice(tensors.length);
      tensors.forEach((t, i) => this.f32().set(floatValues(backend, t), this.inputs[i] / 4));
    }
    if (zeroed) scratchFloats.forEach((n, i) => this.f32().fill(0, this.scratch[i] / 4, this.scratch[i] / 4 + n));
  }

  /** A fresh view (allocations may have grown, and so detached, the old buffer). */
  f32(): Float32Array {
    return new Float32Array(this.loops.memory.buffer);
  }

  /** Scratch buffer `i` as the kernel's output tensor; every other scratch buffer is freed. */
  output(i: number, shape: number[]): tf.TensorInfo {
    const wasm = asWasm(this.backend);
    if (wasm) {
      this.wasmScratch.forEach((t, k) => k !== i && wasm.disposeData(t.dataId));
      return { ...this.wasmScratch[i], shape };
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const values = this.f32().slice(this.scratch[i] / 4, this.scratch[i] / 4 + n);
    return (this.backend as unknown as CpuBackendLike).makeTensorInfo(shape, 'float32', values);
  }

  /** Frees the scratch buffers (when the output is made in JS instead). */
  close(): void {
    const wasm = asWasm(this.backend);
    if (wasm) this.wasmScratch.forEach((t) => wasm.disposeData(t.dataId));
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

function privateHeap(bytes: number): WasmMemory {
  privateMemory ??= new wasmApi.Memory({ initial: 1 });
  const missing = Math.ceil((bytes - privateMemory.buffer.byteLength) / PAGE);
  if (missing > 0) privateMemory.grow(missing);
  return privateMemory;
}

function asWasm(backend: tf.KernelBackend): WasmBackendLike | undefined {
  const b = backend as unknown as Partial<WasmBackendLike>;
  return b.wasm?.asm?.memory && b.dataIdMap ? (b as WasmBackendLike) : undefined;
}
