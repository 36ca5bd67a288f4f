import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, withFloatOutputs } from './heap.js';
import { LoopHeap } from './loop-heap.js';

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

  /** A new float32 tensor whose values `fill` writes, from the values of `inputs` (it starts zeroed). */
  constant(shape: number[], fill: (values: Float32Array, ...inputs: Float32Array[]) => void, inputs: Info[] = []): Info {
    const out = makeFloatOutput(this.backend, shape, inputs, fill);
    this.made.push(out);
    return out;
  }

  reshape(x: Info, shape: number[]): Info {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: Info, perm: number[]): Info {
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * A float32 matrix [rows, cols] transposed, in blocks of rows: each column is written as a sequential
   * stream while the block's rows stay in cache (~1.8× faster than tfjs-wasm's per-element Transpose
   * for a [32768, 16] activation, the 1×1 filter gradient's operand).
   */
  transposeMatrix(x: Info): Info {
    const [rows, cols] = x.shape;
    const out = makeFloatOutput(this.backend, [cols, rows], [x], (t, v) => {
      for (let r0 = 0; r0 < rows; r0 += 64) {
        const r1 = Math.min(rows, r0 + 64);
        for (let c = 0; c < cols; c++) {
          for (let r = r0, o = c * rows + r0, i = r0 * cols + c; r < r1; r++, i += cols) t[o++] = v[i];
        }
      }
    });
    this.made.push(out);
    return out;
  }

  /**
   * A [kh, kw, a, b] filter rotated 180° in space, and with `swapLast` its last two axes swapped
   * (the input gradient's filter). One pass in JS: tfjs-cpu's Reverse takes ~1.8 µs an element
   * (~65 ms for a 3×3×64×64 filter, half a convolution's time).
   */
  flipFilter(filter: Info, swapLast: boolean): Info {
    const [kh, kw, a, b] = filter.shape;
    const shape = swapLast ? [kh, kw, b, a] : [kh, kw, a, b];
    const out = makeFloatOutput(this.backend, shape, [filter], (t, f) => {
      for (let h = 0; h < kh; h++)
        for (let w = 0; w < kw; w++) {
          const src = (h * kw + w) * a * b, dst = ((kh - 1 - h) * kw + (kw - 1 - w)) * a * b;
          for (let i = 0; i < a; i++)
            for (let o = 0; o < b; o++) t[dst + (swapLast ? o * a + i : i * b + o)] = f[src + i * b + o];
        }
    });
    this.made.push(out);
    return out;
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
   * Inserts stride−1 zeros after every pixel of an NHWC tensor (the "spread" dy of a strided conv):
   * one pass copying each pixel's channels into a zeroed output (pads and slices of reshaped views
   * cost 2–4× as much on wasm, ~100× at rank 5).
   */
  insertZeros(x: Info, strideH: number, strideW: number): Info {
    if (strideH === 1 && strideW === 1) return x;
    const [n, h, w, c] = x.shape;
    return this.strided(x, [n, h * strideH, w * strideW, c], strideH, strideW, 'scatter');
  }

  /** x[:, ::sh, ::sw, :] cut to oh×ow (zeros where that runs past x), in one pass. */
  subsample(x: Info, sh: number, sw: number, oh: number, ow: number): Info {
    if (sh === 1 && sw === 1 && x.shape[1] === oh && x.shape[2] === ow) return x;
    return this.strided(x, [x.shape[0], oh, ow, x.shape[3]], sh, sw, 'gather');
  }

  /**
   * Depth to space by `k`: channel block q of pixel (i, j) to pixel (k·i + a, k·j + b), where
   * [a, b] = blocks[q] (default: every block, row-major), into an [n, height, width, c] output whose
   * pixels no block reaches are zero. On wasm one SIMD call per input row and block, elsewhere a
   * loop. tfjs-wasm's own DepthToSpace takes ~15 ms for a [32,16,16,64] input, ~50× this.
   */
  depthToSpace(x: Info, k: number, height: number, width: number, blocks?: Array<[number, number]>): Info {
    const placed = blocks ?? Array.from({ length: k * k }, (_, q): [number, number] => [Math.floor(q / k), q % k]);
    const [n, h, w, depth] = x.shape, c = depth / placed.length;
    const shape = [n, height, width, c];
    const covered = placed.length === k * k && h * k === height && w * k === width;
    const dstRow = (b: number, i: number, [a, e]: [number, number]) => ((b * height + i * k + a) * width + e) * c;
    const srcRow = (b: number, i: number, q: number) => (b * h + i) * w * depth + q * c;
    let out: Info;
    if (this.backendName === 'wasm' && c % 4 === 0) {
      const heap = new LoopHeap(this.backend, [x], [n * height * width * c], !covered);
      const [src] = heap.inputs, [dst] = heap.scratch;
      for (let b = 0; b < n; b++)
        for (let i = 0; i < h; i++)
          placed.forEach((at, q) => heap.loops.copyRows(dst + 4 * dstRow(b, i, at), src + 4 * srcRow(b, i, q), c, w, 4 * k * c, 4 * depth));
      out = heap.output(0, shape);
    } else {
      const copy = (o: Float32Array, v: Float32Array) => {
        for (let b = 0; b < n; b++)
          for (let i = 0; i < h; i++)
            placed.forEach((at, q) => {
              for (let j = 0, src = srcRow(b, i, q), dst = dstRow(b, i, at); j < w; j++, src += depth, dst += k * c)
                for (let t = 0; t < c; t++) o[dst + t] = v[src + t];
            });
      };
      out = covered ? withFloatOutputs(this.backend, [shape], [x], ([o], [v]) => copy(o, v))[0] : makeFloatOutput(this.backend, shape, [x], copy);
    }
    this.made.push(out);
    return out;
  }

  /** Copies pixel (i, j) of the small grid to/from pixel (i·sh, j·sw) of the large one, channels whole. */
  private strided(x: Info, shape: number[], sh: number, sw: number, direction: 'scatter' | 'gather'): Info {
    const [n, , , c] = shape;
    const [small, large] = direction === 'scatter' ? [x.shape, shape] : [shape, x.shape];
    const [, h, w] = small, [, bigH, bigW] = large;
    const out = makeFloatOutput(this.backend, shape, [x], (o, v) => {
      for (let b = 0; b < n; b++)
        for (let i = 0; i < h && i * sh < bigH; i++)
          for (let j = 0; j < w && j * sw < bigW; j++) {
            const s = ((b * h + i) * w + j) * c, l = ((b * bigH + i * sh) * bigW + j * sw) * c;
            if (direction === 'scatter') for (let k = 0; k < c; k++) o[l + k] = v[s + k];
            else for (let k = 0; k < c; k++) o[s + k] = v[l + k];
          }
    });
    this.made.push(out);
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
