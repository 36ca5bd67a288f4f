import type * as tf from '@tensorflow/tfjs';
import { addTo, assembleModule, countDown, I32, memoryBound, op, V128, vec } from '../wasm-module.js';
import { LoopHeap } from './loop-heap.js';
import { columnRange, rowRange } from './loops.js';

type Geometry = tf.backend_util.Conv2DInfo;

/*
 * The filter gradient of a convolution, dW[tap][ci][co] = Σ_pixels x(tap-shifted)[ci] · dy[co] (depthwise:
 * dW[tap][c] = Σ_pixels x(tap-shifted)[c] · dy[c]), as register-tiled WebAssembly SIMD loops straight over
 * x and dy in NHWC. The reduction runs over all N·OH·OW pixels while the output is tiny, so expressing
 * it as a convolution (transposed tensors, dy as the filter) makes XNNPACK pack an image-sized filter
 * on every call; these read each operand where it lies instead. A tile keeps its sums in registers
 * while it streams over a rectangle of pixels, and the driver walks images in chunks small enough
 * that both operands stay in cache across the tiles.
 */

const TILE_PARAMS = [
  'acc', 'x', 'dy', 'batches', 'rows', 'cols',
  'xBatch', 'xRow', 'xCol', 'dyBatch', 'dyRow', 'dyCol', 'accRow',
] as const;
const P = Object.fromEntries(TILE_PARAMS.map((name, i) => [name, i])) as Record<(typeof TILE_PARAMS)[number], number>;

const { get, set } = op;

const [B, R, C, XR, DR, XP, DP] = [13, 14, 15, 16, 17, 18, 19];
const FIRST_VECTOR = 20;

/**
 * The walk both tiles share: `perPixel` for every pixel of a rows × cols rectangle in each of
 * `batches` images, with XP and DP pointing at the pixel's x and dy; the sums stay in locals.
 */
function rectangle(perPixel: number[]): number[] {
  const pixel = [...perPixel, ...addTo(XP, P.xCol), ...addTo(DP, P.dyCol)];
  const row = [...get(XR), ...set(XP), ...get(DR), ...set(DP), ...get(P.cols), ...set(C), ...countDown(C, pixel), ...addTo(XR, P.xRow), ...addTo(DR, P.dyRow)];
  const image = [...get(P.x), ...set(XR), ...get(P.dy), ...set(DR), ...get(P.rows), ...set(R), ...countDown(R, row), ...addTo(P.x, P.xBatch), ...addTo(P.dy, P.dyBatch)];
  return [...get(P.batches), ...set(B), ...countDown(B, image)];
}

/** `acc[16v…] += sum` for each of `sums`, in vectors. */
const addInto = (sums: number[]) => sums.flatMap((sum, v) => [...get(P.acc), ...get(P.acc), ...op.v128Load(16 * v), ...get(sum), ...op.f32x4Add, ...op.v128Store(16 * v)]);

/** Regular convolution: acc[k][4v…4v+3] += x[k] · dy[4v…4v+3] for ciBlock input channels k and coVectors output vectors v. */
function convTileBody(ciBlock: number, coVectors: number): number[] {
  const s = FIRST_VECTOR, dv = (v: number) => s + 1 + v;
  const sums = Array.from({ length: ciBlock }, (_, k) => Array.from({ length: coVectors }, (_, v) => s + 1 + coVectors + k * coVectors + v));
  const perPixel = [
    ...Array.from({ length: coVectors }, (_, v) => [...get(DP), ...op.v128Load(16 * v), ...set(dv(v))]).flat(),
    ...sums.flatMap((row, k) => [
      ...get(XP), ...op.load32Splat(4 * k), ...set(s),
      ...row.flatMap((sum, v) => [...get(sum), ...get(s), ...get(dv(v)), ...op.f32x4Mul, ...op.f32x4Add, ...set(sum)]),
    ]),
  ];
  const store = sums.flatMap((row) => [...addInto(row), ...addTo(P.acc, P.accRow)]);
  return [...vec([[7, I32], [1 + coVectors + ciBlock * coVectors, V128]]), ...rectangle(perPixel), ...store, ...op.end];
}

/** Depthwise (multiplier 1): acc[4v…4v+3] += x[4v…] · dy[4v…] for `vectors` channel vectors. */
function depthwiseTileBody(vectors: number): number[] {
  const sums = Array.from({ length: vectors }, (_, v) => FIRST_VECTOR + v);
  const perPixel = sums.flatMap((sum, v) => [...get(sum), ...get(XP), ...op.v128Load(16 * v), ...get(DP), ...op.v128Load(16 * v), ...op.f32x4Mul, ...op.f32x4Add, ...set(sum)]);
  return [...vec([[7, I32], [vectors, V128]]), ...rectangle(perPixel), ...addInto(sums), ...op.end];
}

/** Input channels per tile (the tail of channels one at a time) and output vectors per tile (the tail one vector). */
const CI_BLOCKS = [4, 1] as const;
const CO_VECTORS = [2, 1] as const;
const DEPTHWISE_VECTORS = [4, 1] as const;
const convTile = (ci: number, co: number) => `conv${ci}x${co}`;
const depthwiseTile = (v: number) => `depthwise${v}`;

type Tile = (...args: number[]) => void;
const bindTiles = memoryBound<Record<string, Tile>>(
  assembleModule([
    ...CI_BLOCKS.flatMap((ci) => CO_VECTORS.map((co) => ({ name: convTile(ci, co), params: TILE_PARAMS.length, body: convTileBody(ci, co) }))),
    ...DEPTHWISE_VECTORS.map((v) => ({ name: depthwiseTile(v), params: TILE_PARAMS.length, body: depthwiseTileBody(v) })),
  ]),
);

/** Whether the SIMD filter gradient takes this convolution: output channels in whole vectors (depthwise: multiplier 1 too). */
export function simdFilterGradFits(g: Geometry, depthwise: boolean): boolean {
  return g.outChannels % 4 === 0 && (!depthwise || g.outChannels === g.inChannels);
}

/** [start, count] runs of `total` split into blocks of `sizes[0]`, the rest in `sizes[1]`. */
function blocks(total: number, sizes: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (const size of sizes) for (; start + size <= total; start += size) out.push([start, size]);
  return out;
}

/**
 * Images per call: as many as keep a chunk of x and dy near 64 KB, so a tile's re-reads come from L1
 * and L2 (measured here between 32 KB and 2 MB: 64 KB was best, 2 MB up to 2× slower).
 */
function imagesPerChunk(g: Geometry): number {
  const bytes = 4 * (g.inHeight * g.inWidth * g.inChannels + g.outHeight * g.outWidth * g.outChannels);
  return Math.max(1, Math.floor((1 << 16) / bytes));
}

/** One tile call: where its sums go in the filter, where it starts in x and dy (floats from a tap's corner). */
interface TileCall { name: string; acc: number; x: number; dy: number }

/** A part of dW to compute: one filter tap (kh·KW + kw), output channels [co0, co1) in whole vectors. */
export interface FilterRegion { tap: number; co0: number; co1: number }

/** The tile calls that cover output channels [co0, co1) of a tap, regular or depthwise (all channels). */
function tapTiles(g: Geometry, depthwise: boolean, co0: number, co1: number): TileCall[] {
  const CI = g.inChannels, CO = g.outChannels;
  if (depthwise) return blocks(CI / 4, DEPTHWISE_VECTORS).map(([v, n]) => ({ name: depthwiseTile(n), acc: 4 * v, x: 4 * v, dy: 4 * v }));
  return blocks(CI, CI_BLOCKS).flatMap(([ci, k]) =>
    blocks((co1 - co0) / 4, CO_VECTORS).map(([v, n]) => ({ name: convTile(k, n), acc: ci * CO + co0 + 4 * v, x: ci, dy: co0 + 4 * v })),
  );
}

/**
 * dW of an NHWC convolution of any stride, dilation and padding, regular or depthwise (see
 * simdFilterGradFits): per chunk of images, per tap, the tiles over that tap's rectangle of outputs.
 * `regions` limits the work to parts of a regular filter (the rest of dW is zero); default: all of it.
 */
export function filterGradSimd(
  g: Geometry,
  depthwise: boolean,
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  regions?: FilterRegion[],
): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const KH = g.filterHeight, KW = g.filterWidth, tapSize = depthwise ? CI : CI * CO;
  const heap = new LoopHeap(backend, [x, dy], [KH * KW * tapSize]);
  const tiles = bindTiles(heap.loops.memory);
  const [px, pdy] = heap.inputs, pacc = heap.scratch[0];
  const calls = Array.from({ length: KH * KW }, () => [] as TileCall[]);
  for (const r of regions ?? calls.map((_, tap) => ({ tap, co0: 0, co1: CO }))) calls[r.tap].push(...tapTiles(g, depthwise, r.co0, r.co1));
  const strides = [4 * H * W * CI, 4 * g.strideHeight * W * CI, 4 * g.strideWidth * CI, 4 * OH * OW * CO, 4 * OW * CO, 4 * CO, 4 * CO];
  const chunk = imagesPerChunk(g);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const images = Math.min(chunk, N - n0);
    for (let kh = 0; kh < KH; kh++) {
      const [i0, i1] = rowRange(g, kh * g.dilationHeight);
      for (let kw = 0; kw < KW; kw++) {
        const [j0, j1] = columnRange(g, kw * g.dilationWidth);
        if (i0 >= i1 || j0 >= j1) continue;
        const y0 = i0 * g.strideHeight + kh * g.dilationHeight - g.padInfo.top;
        const x0 = j0 * g.strideWidth + kw * g.dilationWidth - g.padInfo.left;
        const xBase = ((n0 * H + y0) * W + x0) * CI, dyBase = ((n0 * OH + i0) * OW + j0) * CO;
        const accBase = (kh * KW + kw) * tapSize;
        for (const t of calls[kh * KW + kw]) {
          tiles[t.name](pacc + 4 * (accBase + t.acc), px + 4 * (xBase + t.x), pdy + 4 * (dyBase + t.dy), images, i1 - i0, j1 - j0, ...strides);
        }
      }
    }
  }
  return heap.output(0, [KH, KW, CI, depthwise ? 1 : CO]);
}
