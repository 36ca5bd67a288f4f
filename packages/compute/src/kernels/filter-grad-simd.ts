import type * as tf from '@tensorflow/tfjs';
import { assembleModule, I32, leb, memoryBound, V128, vec } from '../wasm-module.js';
import { LoopHeap } from './loop-heap.js';
import { columnRange, rowRange } from './loops.js';

type Geometry = tf.backend_util.Conv2DInfo;

/*
 * The filter gradient of a regular convolution, dW[tap][ci][co] = Σ_pixels x(tap-shifted)[ci] · dy[co],
 * as a register-tiled WebAssembly SIMD loop straight over x and dy in NHWC. Its reduction runs over
 * all N·OH·OW pixels while its output is tiny, so expressing it as a convolution (transposed tensors,
 * dy as the filter) makes XNNPACK pack an image-sized filter on every call; this reads each operand
 * where it lies instead. A tile keeps ciBlock × coVectors·4 sums in registers while it streams over
 * a rectangle of pixels; the driver walks images in cache-sized chunks so both operands stay in L2.
 */

const TILE_PARAMS = [
  'acc', 'x', 'dy', 'batches', 'rows', 'cols',
  'xBatch', 'xRow', 'xCol', 'dyBatch', 'dyRow', 'dyCol', 'accRow',
] as const;
const P = Object.fromEntries(TILE_PARAMS.map((name, i) => [name, i])) as Record<(typeof TILE_PARAMS)[number], number>;

const get = (i: number) => [0x20, ...leb(i)];
const set = (i: number) => [0x21, ...leb(i)];
const memarg = (offset: number) => [0x00, ...leb(offset)];
const v128Load = (offset: number) => [0xfd, 0x00, ...memarg(offset)];
const v128Store = (offset: number) => [0xfd, 0x0b, ...memarg(offset)];
const load32Splat = (offset: number) => [0xfd, 0x09, ...memarg(offset)];
const F32X4_ADD = [0xfd, 0xe4, 0x01];
const F32X4_MUL = [0xfd, 0xe6, 0x01];
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const LOOP = [0x03, 0x40];
const END = 0x0b;

/** `local += step`. */
const advance = (local: number, step: number) => [...get(local), ...get(step), I32_ADD, ...set(local)];
/** `do { body } while (--counter)`: callers never pass a zero count. */
const countDown = (counter: number, body: number[]) => [
  ...LOOP, ...body, ...get(counter), 0x41, 1, I32_SUB, 0x22, ...leb(counter), 0x0d, 0, END,
];

/** tile(acc, x, dy, batches, rows, cols, strides in bytes…): acc[k][v] += Σ x[k] · dy[4v…4v+3] over the rectangle. */
function tileBody(ciBlock: number, coVectors: number): number[] {
  const [b, r, c, xr, dr, xp, dp] = [13, 14, 15, 16, 17, 18, 19];
  const s = 20, dv = (v: number) => 21 + v, sum = (k: number, v: number) => 21 + coVectors + k * coVectors + v;
  const vectors = 1 + coVectors + ciBlock * coVectors;
  const perPixel = [
    ...Array.from({ length: coVectors }, (_, v) => [...get(dp), ...v128Load(16 * v), ...set(dv(v))]).flat(),
    ...Array.from({ length: ciBlock }, (_, k) => [
      ...get(xp), ...load32Splat(4 * k), ...set(s),
      ...Array.from({ length: coVectors }, (_, v) => [...get(sum(k, v)), ...get(s), ...get(dv(v)), ...F32X4_MUL, ...F32X4_ADD, ...set(sum(k, v))]).flat(),
    ]).flat(),
    ...advance(xp, P.xCol), ...advance(dp, P.dyCol),
  ];
  const perRow = [...get(xr), ...set(xp), ...get(dr), ...set(dp), ...get(P.cols), ...set(c), ...countDown(c, perPixel), ...advance(xr, P.xRow), ...advance(dr, P.dyRow)];
  const perBatch = [...get(P.x), ...set(xr), ...get(P.dy), ...set(dr), ...get(P.rows), ...set(r), ...countDown(r, perRow), ...advance(P.x, P.xBatch), ...advance(P.dy, P.dyBatch)];
  const store = Array.from({ length: ciBlock }, (_, k) => [
    ...Array.from({ length: coVectors }, (_, v) => [...get(P.acc), ...get(P.acc), ...v128Load(16 * v), ...get(sum(k, v)), ...F32X4_ADD, ...v128Store(16 * v)]).flat(),
    ...advance(P.acc, P.accRow),
  ]).flat();
  return [...vec([[7, I32], [vectors, V128]]), ...get(P.batches), ...set(b), ...countDown(b, perBatch), ...store, END];
}

/** Input channels per tile (the tail of channels one at a time) and output vectors per tile (the tail one vector). */
const CI_BLOCKS = [4, 1] as const;
const CO_VECTORS = [2, 1] as const;
const tileName = (ci: number, co: number) => `tile${ci}x${co}`;

type Tile = (...args: number[]) => void;
const bindTiles = memoryBound<Record<string, Tile>>(
  assembleModule(CI_BLOCKS.flatMap((ci) => CO_VECTORS.map((co) => ({ name: tileName(ci, co), params: TILE_PARAMS.length, body: tileBody(ci, co) })))),
);

/** Whether the SIMD filter gradient takes this convolution (output channels in whole vectors). */
export function simdFilterGradFits(g: Geometry): boolean {
  return g.outChannels % 4 === 0;
}

/** [start, count] runs of `total` split into blocks of `sizes[0]`, the rest in `sizes[1]`. */
function blocks(total: number, sizes: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (const size of sizes) for (; start + size <= total; start += size) out.push([start, size]);
  return out;
}

/** Images per call: as many as keep one chunk of x and dy within ~1 MB (half this machine's L2). */
function imagesPerChunk(g: Geometry): number {
  const bytes = 4 * (g.inHeight * g.inWidth * g.inChannels + g.outHeight * g.outWidth * g.outChannels);
  return Math.max(1, Math.floor((1 << 20) / bytes));
}

/** dW for a regular NHWC convolution of any stride, dilation and padding (see simdFilterGradFits). */
export function conv2DFilterGradSimd(g: Geometry, backend: tf.KernelBackend, x: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const KH = g.filterHeight, KW = g.filterWidth;
  const heap = new LoopHeap(backend, [x, dy], [KH * KW * CI * CO]);
  const tiles = bindTiles(heap.loops.memory);
  const [px, pdy] = heap.inputs, pacc = heap.scratch[0];
  const ciBlocks = blocks(CI, CI_BLOCKS), coBlocks = blocks(CO / 4, CO_VECTORS);
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
        const tapBase = (kh * KW + kw) * CI * CO;
        for (const [ci, ciSize] of ciBlocks) {
          for (const [v, vectors] of coBlocks) {
            tiles[tileName(ciSize, vectors)](
              pacc + 4 * (tapBase + ci * CO + 4 * v), px + 4 * (xBase + ci), pdy + 4 * (dyBase + 4 * v),
              images, i1 - i0, j1 - j0, ...strides,
            );
          }
        }
      }
    }
  }
  return heap.output(0, [KH, KW, CI, CO]);
}
