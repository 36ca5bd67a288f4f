import type * as tf from '@tensorflow/tfjs';
import { assembleModule, memoryBound, type WasmFunction } from '../wasm/module.js';
import { addTo, countDown, f32x4, local, v128, wasmFunction, type FunctionBuilder, type Local, type Stmt } from '../wasm/code.js';
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

/** A tile's arguments: where its sums go, where it starts in x and dy, the rectangle, and byte strides. */
const TILE_PARAMS = [
  'acc', 'x', 'dy', 'batches', 'rows', 'cols',
  'xBatch', 'xRow', 'xCol', 'dyBatch', 'dyRow', 'dyCol', 'accRow',
] as const;
type TileParams = Record<(typeof TILE_PARAMS)[number], Local<'i32'>>;

/** The rectangle walk's counters and pointers: a tile's first locals. */
const walkLocals = (f: FunctionBuilder) => f.locals('i32', 'imagesLeft', 'rowsLeft', 'colsLeft', 'xRowStart', 'dyRowStart', 'xPixel', 'dyPixel');
type Walk = ReturnType<typeof walkLocals>;

/**
 * The walk both tiles share: `perPixel` for every pixel of a rows × cols rectangle in each of
 * `batches` images, with xPixel and dyPixel pointing at the pixel's x and dy; the sums stay in locals.
 */
function rectangle(p: TileParams, w: Walk, perPixel: Stmt[]): Stmt[] {
  const pixel = [...perPixel, addTo(w.xPixel, p.xCol), addTo(w.dyPixel, p.dyCol)];
  const row = [
    local.set(w.xPixel, w.xRowStart), local.set(w.dyPixel, w.dyRowStart), local.set(w.colsLeft, p.cols),
    countDown(w.colsLeft, pixel),
    addTo(w.xRowStart, p.xRow), addTo(w.dyRowStart, p.dyRow),
  ];
  const image = [
    local.set(w.xRowStart, p.x), local.set(w.dyRowStart, p.dy), local.set(w.rowsLeft, p.rows),
    countDown(w.rowsLeft, row),
    addTo(p.x, p.xBatch), addTo(p.dy, p.dyBatch),
  ];
  return [local.set(w.imagesLeft, p.batches), countDown(w.imagesLeft, image)];
}

/** `acc[4v…4v+3] += sums[v]` for each vector v. */
const addInto = (acc: Local<'i32'>, sums: Array<Local<'v128'>>): Stmt[] =>
  sums.map((sum, v) => v128.store(acc, f32x4.add(v128.load(acc, 16 * v), sum), 16 * v));

/** Regular convolution: acc[k][4v…4v+3] += x[k] · dy[4v…4v+3] for ciBlock input channels k and coVectors output vectors v. */
const convTile = (ciBlock: number, coVectors: number): WasmFunction =>
  wasmFunction(convTileName(ciBlock, coVectors), (f) => {
    const p = f.params(...TILE_PARAMS);
    const w = walkLocals(f);
    const { xk } = f.locals('v128', 'xk'); // x[k] in all four lanes
    const dyv = f.localList('v128', 'dyv', coVectors);
    const sums = Array.from({ length: ciBlock }, (_, k) => f.localList('v128', `sum${k}_`, coVectors));
    const perPixel = [
      ...dyv.map((d, v) => local.set(d, v128.load(w.dyPixel, 16 * v))),
      ...sums.flatMap((row, k) => [
        local.set(xk, v128.load32_splat(w.xPixel, 4 * k)),
        ...row.map((sum, v) => local.set(sum, f32x4.add(sum, f32x4.mul(xk, dyv[v])))),
      ]),
    ];
    return [...rectangle(p, w, perPixel), ...sums.flatMap((row) => [...addInto(p.acc, row), addTo(p.acc, p.accRow)])];
  });

/** Depthwise (multiplier 1): acc[4v…4v+3] += x[4v…] · dy[4v…] for `vectors` channel vectors. */
const depthwiseTile = (vectors: number): WasmFunction =>
  wasmFunction(depthwiseTileName(vectors), (f) => {
    const p = f.params(...TILE_PARAMS);
    const w = walkLocals(f);
    const sums = f.localList('v128', 'sum', vectors);
    const perPixel = sums.map((sum, v) => local.set(sum, f32x4.add(sum, f32x4.mul(v128.load(w.xPixel, 16 * v), v128.load(w.dyPixel, 16 * v)))));
    return [...rectangle(p, w, perPixel), ...addInto(p.acc, sums)];
  });

/** Input channels per tile (the tail of channels one at a time) and output vectors per tile (the tail one vector). */
const CI_BLOCKS = [4, 1] as const;
const CO_VECTORS = [2, 1] as const;
const DEPTHWISE_VECTORS = [4, 1] as const;
const convTileName = (ci: number, co: number) => `conv${ci}x${co}`;
const depthwiseTileName = (v: number) => `depthwise${v}`;

/** The module's functions, in export order. */
export const FILTER_GRAD_TILES: WasmFunction[] = [
  ...CI_BLOCKS.flatMap((ci) => CO_VECTORS.map((co) => convTile(ci, co))),
  ...DEPTHWISE_VECTORS.map((v) => depthwiseTile(v)),
];

type Tile = (...args: number[]) => void;
const bindTiles = memoryBound<Record<string, Tile>>(assembleModule(FILTER_GRAD_TILES));

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
  if (depthwise) return blocks(CI / 4, DEPTHWISE_VECTORS).map(([v, n]) => ({ name: depthwiseTileName(n), acc: 4 * v, x: 4 * v, dy: 4 * v }));
  return blocks(CI, CI_BLOCKS).flatMap(([ci, k]) =>
    blocks((co1 - co0) / 4, CO_VECTORS).map(([v, n]) => ({ name: convTileName(k, n), acc: ci * CO + co0 + 4 * v, x: ci, dy: co0 + 4 * v })),
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
