import type { CellTimingRequest, NetworkTimingRequest, OpTimingRequest } from './timer.js';

/** The tfjs backends a page can time on. */
export const BROWSER_BACKENDS = ['wasm', 'webgl', 'webgpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/** What the page found when it set its backend up. */
export type PageInfo =
  | {
      available: true;
      backend: BrowserBackend;
      tfjsVersion: string;
      userAgent: string;
      hardwareConcurrency: number;
      /** WebGL's UNMASKED_RENDERER_WEBGL or the WebGPU adapter's info; null on wasm. */
      renderer: string | null;
      /** The wasm binary tfjs chose: SIMD or not, and its thread count; null on the GPU backends. */
      wasm: { simd: boolean; threads: number } | null;
    }
  | { available: false; backend: BrowserBackend; reason: string; userAgent: string };

/** Images for a graph model: NHWC values, row-major. */
export interface ClassifyRequest {
  modelUrl: string;
  images: number[];
  shape: [number, number, number, number];
}

export interface ClassifyResult {
  logits: number[][];
  /** argmax of each row. */
  classes: number[];
}

/** `window.lenna`: what Node calls inside the page (every argument and result is JSON). */
export interface PageApi {
  /** Sets the backend up (LENNA's kernels registered, as in Node); call once. */
  init(backend: BrowserBackend): Promise<PageInfo>;
  timeCell(request: CellTimingRequest): Promise<number[]>;
  timeOp(request: OpTimingRequest): Promise<number[]>;
  timeNetwork(request: NetworkTimingRequest): Promise<number[]>;
  /** The output values of a request's cell, one forward pass: lets a test check the page computes what Node does. */
  cellOutput(request: CellTimingRequest): Promise<number[]>;
  /** Loads a graph model with tf.loadGraphModel and runs it on the images. */
  classify(req: ClassifyRequest): Promise<ClassifyResult>;
}
