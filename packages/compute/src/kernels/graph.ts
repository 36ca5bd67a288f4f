import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput } from './heap.js';

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/**
 * Runs a backend's own kernel functions on TensorInfos inside a kernel of ours, without going
 * through the engine (no tape, no scopes), and frees every intermediate it made except the result.
 * This is how tfjs's backends compose kernels internally.
 */
export class KernelGraph {
  private readonly made: Info[] = [];

  constructor(
    private readonly backend: tf.KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: Record<string, Info>, attrs: Attrs = {}): Info {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`The ${this.backendName} backend has no ${kernelName} kernel.`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as Info;
    this.made.push(out);
    return out;
  }

  /** A new float32 tensor whose values `fill` writes (it starts zeroed on wasm, and is fresh on cpu). */
  constant(shape: number[], fill: (values: Float32Array) => void): Info {
    const out = makeFloatOutput(this.backend, shape, [], fill);
    this.made.push(out);
    return out;
  }

  reshape(x: Info, shape: number[]): Info {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: Info, perm: number[]): Info {
    return this.run('Transpose', { x }, { perm });
  }

  /** Pads with zeros where an amount is positive and crops where it is negative. */
  padOrCrop(x: Info, amounts: Array<[number, number]>): Info {
    let out = x;
    if (amounts.some(([a, b]) => a > 0 || b > 0)) {
      const paddings = amounts.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]);
      out = this.run('PadV2', { x: out }, { paddings, constantValue: 0 });
    }
    if (amounts.some(([a, b]) => a < 0 || b < 0)) {
      const begin = amounts.map(([a]) => Math.max(-a, 0));
      const size = out.shape.map((n, i) => n - begin[i] - Math.max(-amounts[i][1], 0));
      out = this.run('Slice', { x: out }, { begin, size });
    }
    return out;
  }

  /**
   * Inserts stride−1 zeros after every pixel of an NHWC tensor (the "spread" dy of a strided conv).
   * Done as two rank-3 pads: tfjs-wasm's pads and slices above rank 4 are ~100× slower.
   */
  insertZeros(x: Info, strideH: number, strideW: number): Info {
    const [n, h, w, c] = x.shape;
    let out = x;
    if (strideH > 1) {
      const rows = this.run('PadV2', { x: this.reshape(out, [n * h, 1, w * c]) }, { paddings: [[0, 0], [0, strideH - 1], [0, 0]], constantValue: 0 });
      out = this.reshape(rows, [n, h * strideH, w, c]);
    }
    if (strideW > 1) {
      const cols = this.run('PadV2', { x: this.reshape(out, [n * h * strideH * w, 1, c]) }, { paddings: [[0, 0], [0, strideW - 1], [0, 0]], constantValue: 0 });
      out = this.reshape(cols, [n, h * strideH, w * strideW, c]);
    }
    return out;
  }

  /**
   * x[:, ::sh, ::sw, :] cut to oh×ow: pad to a multiple of the stride, then keep phase 0 of each axis
   * with one rank-4 slice per axis (rank-5 slices are ~100× slower on wasm).
   */
  subsample(x: Info, sh: number, sw: number, oh: number, ow: number): Info {
    const [n, h, w, c] = x.shape;
    let out = this.padOrCrop(x, [[0, 0], [0, oh * sh - h], [0, ow * sw - w], [0, 0]]);
    if (sh > 1) {
      const rows = this.run('Slice', { x: this.reshape(out, [n * oh, sh, ow * sw, c]) }, { begin: [0, 0, 0, 0], size: [n * oh, 1, ow * sw, c] });
      out = this.reshape(rows, [n, oh, ow * sw, c]);
    }
    if (sw > 1) {
      const cols = this.run('Slice', { x: this.reshape(out, [n * oh, ow, sw, c]) }, { begin: [0, 0, 0, 0], size: [n * oh, ow, 1, c] });
      out = this.reshape(cols, [n, oh, ow, c]);
    }
    return out;
  }

  /** Frees every intermediate except `result` (a reshape of an intermediate keeps its own reference). */
  finish(result: Info): Info {
    for (const info of this.made) {
      if (info !== result) this.backend.disposeData(info.dataId);
    }
    return result;
  }
}
