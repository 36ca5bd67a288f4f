import { z } from 'zod';
import { environmentFingerprint, hostFingerprint, initBackend } from '@lenna/compute';
import { launchBrowserTarget, type BrowserInfo } from './browser.js';
import { BROWSER_BACKENDS, type BrowserBackend } from './page-api.js';
import { createLocalTimer, type LatencyTimer } from './timer.js';

export const MEASUREMENT_TARGETS = ['node', 'browser'] as const;
export type MeasurementTargetName = (typeof MEASUREMENT_TARGETS)[number];

const BrowserParamsSchema = z
  .object({
    backend: z.enum(BROWSER_BACKENDS).default('wasm'),
    /** A Chromium or Chrome executable; absent: CHROMIUM_PATH, PUPPETEER_EXECUTABLE_PATH, then PATH. */
    executable: z.string().min(1).optional(),
  })
  .strict();

/** The params a measuring stage spreads into its schema (then `.superRefine(checkTargetParams)`). */
export const TARGET_PARAMS = {
  target: z.enum(MEASUREMENT_TARGETS).default('node'),
  browser: BrowserParamsSchema.optional(),
};

export interface TargetParams {
  target: MeasurementTargetName;
  browser?: { backend: BrowserBackend; executable?: string };
}

/** `browser` only means something with `target: browser`: given with `node`, it is a mistake to name. */
export function checkTargetParams(p: { target: MeasurementTargetName; browser?: unknown }, ctx: z.RefinementCtx): void {
  if (p.target === 'node' && p.browser !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['browser'], message: 'browser is set but target is node; set target: browser to measure in the browser, or leave browser out' });
  }
}

/** Where a measurement ran, as metrics and data sets record it. */
export interface TargetLabel {
  target: MeasurementTargetName;
  /** The tfjs backend: Node's (wasm, cpu, tensorflow, tensorflow-gpu) or the page's (wasm, webgl, webgpu). */
  backend: string;
  /** The browser as it names itself (`Chrome/156.0.8078.114`); null for node. */
  browser: string | null;
  /** WebGL's unmasked renderer or the WebGPU adapter; null for node and wasm. */
  renderer: string | null;
}

export interface MeasurementTarget {
  label: TargetLabel;
  timer: LatencyTimer;
  close(): Promise<void>;
}

const browserOf = (p: TargetParams) => p.browser ?? { backend: 'wasm' as const };

/** Opens the target the params name: this process's tfjs backend, or headless Chromium with LENNA's page (`log` gets a note where its GPU backend draws in software). */
export async function openTarget(p: TargetParams, log: (message: string) => void = () => undefined): Promise<MeasurementTarget> {
  if (p.target === 'node') {
    const backend = await initBackend({ quiet: true });
    const timer = createLocalTimer();
    return { label: { target: 'node', backend: backend.name, browser: null, renderer: null }, timer, close: () => timer.close() };
  }
  const { backend, executable } = browserOf(p);
  const browser = await launchBrowserTarget({ backend, executable });
  const label: TargetLabel = { target: 'browser', backend, browser: browser.info.browser, renderer: browser.info.renderer };
  if (browser.info.renderer && /swiftshader/i.test(browser.info.renderer)) {
    log(`note: ${backend} draws with SwiftShader, Chromium's software renderer, so these timings describe this CPU, not a GPU`);
  }
  return { label, timer: browser.timer, close: () => browser.close() };
}

/**
 * The environment a measuring stage's cache key holds. Node: compute's fingerprint, as before targets
 * existed (so existing keys hold). Browser: the browser's version, the backend and its renderer or
 * wasm features, tfjs, and the machine — it starts the browser once to ask.
 */
export async function targetEnvironment(p: TargetParams): Promise<Record<string, unknown>> {
  if (p.target === 'node') return environmentFingerprint();
  const { backend, executable } = browserOf(p);
  const browser = await launchBrowserTarget({ backend, executable });
  await browser.close();
  return browserFingerprint(browser.info);
}

export function browserFingerprint(info: BrowserInfo): Record<string, unknown> {
  return {
    target: 'browser',
    browser: info.browser,
    backend: info.backend,
    tfjsVersion: info.tfjsVersion,
    renderer: info.renderer,
    wasmSimd: info.wasm?.simd ?? null,
    wasmThreads: info.wasm?.threads ?? null,
    ...hostFingerprint(),
  };
}

/** Arrow schema metadata naming where a table's latencies were measured: `lenna.target`, `lenna.backend`, and `lenna.browser`, `lenna.renderer` where known. */
export function targetMetadata(label: TargetLabel): Record<string, string> {
  return {
    'lenna.target': label.target,
    'lenna.backend': label.backend,
    ...(label.browser ? { 'lenna.browser': label.browser } : {}),
    ...(label.renderer ? { 'lenna.renderer': label.renderer } : {}),
  };
}

/** One phrase for logs: `node (wasm)`, `browser Chrome/156.0.8078.114 (wasm)`, with the renderer where there is one. */
export function describeTarget(label: TargetLabel): string {
  const where = label.browser ? `browser ${label.browser}` : label.target;
  return `${where} (${label.backend}${label.renderer ? `, ${label.renderer}` : ''})`;
}
