/**
 * The page LENNA loads in Chromium: tfjs with its wasm, webgl and webgpu backends, LENNA's kernels
 * (compute) and the very timer module Node uses (../timer.ts, building cells with nn), bundled by
 * scripts/bundle.mjs. Node drives it through `window.lenna` (page-api.ts says what each call does).
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { registerLennaKernels } from '@lenna/compute';
import { cellSubject } from '../subjects.js';
import { createLocalTimer, type CellTimingRequest, type LatencyTimer } from '../timer.js';
import type { BrowserBackend, ClassifyRequest, ClassifyResult, PageApi, PageInfo } from '../page-api.js';

let timer: LatencyTimer | undefined;

function ready(): LatencyTimer {
  if (!timer) throw new Error('window.lenna.init(backend) must run before anything is timed.');
  return timer;
}

async function init(backend: BrowserBackend): Promise<PageInfo> {
  if (timer) throw new Error('window.lenna.init ran twice; a page holds one backend.');
  // The wasm binaries lie next to the page (the bundle script copies them there).
  setWasmPaths(new URL('./', location.href).href);
  registerLennaKernels();
  const gpu = backend === 'webgpu' ? await webgpuAdapter() : undefined;
  let started = false;
  try {
    started = await tf.setBackend(backend);
  } catch (err) {
    return unavailable(backend, (err as Error).message);
  }
  if (!started) return unavailable(backend, gpu === undefined && backend === 'webgpu' ? 'navigator.gpu has no adapter' : 'tfjs could not start it');
  await tf.ready();
  timer = createLocalTimer();
  return {
    available: true,
    backend,
    tfjsVersion: tf.version.tfjs,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    renderer: backend === 'webgl' ? webglRenderer() : backend === 'webgpu' ? (gpu ?? null) : null,
    wasm: backend === 'wasm' ? { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: getThreadsCount() } : null,
  };
}

function unavailable(backend: BrowserBackend, reason: string): PageInfo {
  return { available: false, backend, reason, userAgent: navigator.userAgent };
}

/** UNMASKED_RENDERER_WEBGL: the GPU (or software renderer) WebGL draws with. */
function webglRenderer(): string | null {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

/** The WebGPU adapter's vendor, architecture, device and description, or undefined where there is none. */
async function webgpuAdapter(): Promise<string | undefined> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: GpuAdapterInfo } | null> } }).gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
}

async function classify(req: ClassifyRequest): Promise<ClassifyResult> {
  const model = await tf.loadGraphModel(req.modelUrl);
  const x = tf.tensor4d(req.images, req.shape);
  try {
    const logits = model.predict(x) as tf.Tensor2D;
    const values = (await logits.array()) as number[][];
    logits.dispose();
    return { logits: values, classes: values.map((row) => row.indexOf(Math.max(...row))) };
  } finally {
    x.dispose();
    model.dispose();
  }
}

async function cellOutput(req: CellTimingRequest): Promise<number[]> {
  ready();
  const cell = cellSubject(req);
  try {
    const y = tf.tidy(cell.run);
    const values = Array.from(await y.data());
    y.dispose();
    return values;
  } finally {
    cell.dispose();
  }
}

const api: PageApi = {
  init,
  timeCell: (request) => ready().timeCell(request),
  timeOp: (request) => ready().timeOp(request),
  timeNetwork: (request) => ready().timeNetwork(request),
  cellOutput,
  classify,
};
(window as unknown as { lenna: PageApi }).lenna = api;
