import { z } from 'zod';
import { UserError } from '@lenna/core';
import { clockFor, environmentFingerprint, hostFingerprint, initBackend, type TimingClock } from '@lenna/compute';
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

/** A stage's timing clock param: `auto` is CPU time where one thread computes (wasm, cpu) and wall time elsewhere (compute's clockFor); a browser has wall time only. */
export type ClockParam = 'auto' | TimingClock;

export interface TargetParams {
  target: MeasurementTargetName;
  browser?: { backend: BrowserBackend; executable?: string };
  /** Default `auto`. */
  clock?: ClockParam;
}

/**
 * `browser` only means something with `target: browser`: given with `node`, it is a mistake to name;
 * so is a `cpu` clock in a browser. `clockAt`: where the stage keeps its clock param (dataset-gen
 * `clock`, retrain-eval `measure.clock`).
 */
export function checkTargetParams(p: { target: MeasurementTargetName; browser?: unknown }, ctx: z.RefinementCtx, clockAt: readonly string[] = ['clock']): void {
  if (p.target === 'node' && p.browser !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['browser'], message: 'browser is set but target is node; set target: browser to measure in the browser, or leave browser out' });
  }
  const clock = clockAt.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], p);
  if (p.target === 'browser' && clock === 'cpu') ctx.addIssue({ code: 'custom', path: [...clockAt], message: CPU_CLOCK_IN_BROWSER });
}

const CPU_CLOCK_IN_BROWSER = 'is cpu, but a browser page has no CPU-time clock; use wall or auto (wall time in the browser), or target: node';

/** Where a measurement ran, as metrics and data sets record it. */
export interface TargetLabel {
  target: MeasurementTargetName;
  /** The tfjs backend: Node's (wasm, cpu, tensorflow, tensorflow-gpu) or the page's (wasm, webgl, webgpu). */
  backend: string;
  /** The browser as it names itself (`Chrome/156.0.8078.114`); null for node. */
  browser: string | null;
  /** WebGL's unmasked renderer or the WebGPU adapter; null for node and wasm. */
  renderer: string | null;
  /** What the timings count (the timer's clock). */
  clock: TimingClock;
}

export interface MeasurementTarget {
  label: TargetLabel;
  timer: LatencyTimer;
  close(): Promise<void>;
}

const browserOf = (p: TargetParams) => p.browser ?? { backend: 'wasm' as const };

/**
 * The timer on tfjs in this Node process (initBackend's backend, set up here). `clock`: `auto` times
 * CPU time where one thread computes (wasm, cpu) and wall time elsewhere (compute's clockFor).
 */
export async function createTfjsTimer(options: { clock?: ClockParam } = {}): Promise<LatencyTimer> {
  const backend = await initBackend({ quiet: true });
  const clock = options.clock === undefined || options.clock === 'auto' ? clockFor(backend) : options.clock;
  return createLocalTimer({ clock });
}

/** Opens the target the params name: this process's tfjs backend, or headless Chromium with LENNA's page (`log` gets a note where its GPU backend draws in software). */
export async function openTarget(p: TargetParams, log: (message: string) => void = () => undefined): Promise<MeasurementTarget> {
  if (p.target === 'node') {
    const backend = await initBackend({ quiet: true });
    const timer = await createTfjsTimer({ clock: p.clock });
    return { label: { target: 'node', backend: backend.name, browser: null, renderer: null, clock: timer.clock }, timer, close: () => timer.close() };
  }
  if (p.clock === 'cpu') throw new UserError(`clock ${CPU_CLOCK_IN_BROWSER}.`);
  const { backend, executable } = browserOf(p);
  const browser = await launchBrowserTarget({ backend, executable });
  const label: TargetLabel = { target: 'browser', backend, browser: browser.info.browser, renderer: browser.info.renderer, clock: browser.timer.clock };
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

/** Arrow schema metadata naming where and how a table's latencies were measured: `lenna.target`, `lenna.backend`, `lenna.clock`, and `lenna.browser`, `lenna.renderer` where known. */
export function targetMetadata(label: TargetLabel): Record<string, string> {
  return {
    'lenna.target': label.target,
    'lenna.backend': label.backend,
    'lenna.clock': label.clock,
    ...(label.browser ? { 'lenna.browser': label.browser } : {}),
    ...(label.renderer ? { 'lenna.renderer': label.renderer } : {}),
  };
}

/** One phrase for logs: `node (wasm), cpu clock`, `browser Chrome/156.0.8078.114 (wasm), wall clock`, with the renderer where there is one. */
export function describeTarget(label: TargetLabel): string {
  const where = label.browser ? `browser ${label.browser}` : label.target;
  return `${where} (${label.backend}${label.renderer ? `, ${label.renderer}` : ''}), ${label.clock} clock`;
}
