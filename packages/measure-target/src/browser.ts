import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { CHROMIUM_HOW_TO, findChromium, UserError } from '@lenna/core';
import type { BrowserBackend, ClassifyRequest, ClassifyResult, PageApi } from './page-api.js';
import { serveFolders, type StaticServer } from './server.js';
import type { CellTimingRequest, LatencyTimer } from './timer.js';

/** The page scripts/bundle.mjs builds: the package's dist/page (this file is in src/ or dist/). */
export const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'page');

export interface BrowserOptions {
  backend: BrowserBackend;
  /** A Chromium or Chrome executable; default: core's findChromium (CHROMIUM_PATH, PUPPETEER_EXECUTABLE_PATH, PATH). */
  executable?: string;
  /** More folders to serve beside the page, by URL prefix (e.g. `{ '/model/': dir }`). */
  serve?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** Which browser and backend a target times on: the browser part of a measurement's fingerprint. */
export interface BrowserInfo {
  /** As the browser names itself, e.g. `Chrome/156.0.8078.114` (Chromium reports Chrome). */
  browser: string;
  backend: BrowserBackend;
  tfjsVersion: string;
  userAgent: string;
  /** WebGL's unmasked renderer or the WebGPU adapter; null on wasm. */
  renderer: string | null;
  wasm: { simd: boolean; threads: number } | null;
  hardwareConcurrency: number;
}

export interface BrowserTarget {
  info: BrowserInfo;
  timer: LatencyTimer;
  /** Where the page and the `serve` folders are: `http://127.0.0.1:<port>/`. */
  url: string;
  classify(req: ClassifyRequest): Promise<ClassifyResult>;
  /** The page's output values of a request's cell (for tests). */
  cellOutput(request: CellTimingRequest): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium on LENNA's page, served from 127.0.0.1, with `backend` set up in it. A
 * missing browser, or a backend the browser cannot run, is a UserError naming what to do.
 */
export async function launchBrowserTarget(opts: BrowserOptions): Promise<BrowserTarget> {
  const executable = browserExecutable(opts.executable, opts.env);
  if (!existsSync(join(PAGE_DIR, 'index.html'))) {
    throw new UserError(`measure-target's browser page is not built (${PAGE_DIR} has no index.html); run npm run build.`);
  }
  const server = await serveFolders({ ...opts.serve, '/': PAGE_DIR });
  let browser: Browser | undefined;
  try {
    browser = await startChromium(executable, opts.backend);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction('window.lenna !== undefined', { timeout: 60_000 }).catch(() => {
      throw new Error(`LENNA's page did not start in ${executable}${errors.length ? `: ${errors.join('; ')}` : ''} (was the package built? npm run build)`);
    });
    const found = await page.evaluate((backend) => (globalThis as unknown as PageGlobal).lenna.init(backend), opts.backend);
    const version = await browser.version();
    if (!found.available) throw new UserError(unavailableMessage(opts.backend, version, found.reason));
    const info: BrowserInfo = {
      browser: version,
      backend: found.backend,
      tfjsVersion: found.tfjsVersion,
      userAgent: found.userAgent,
      renderer: found.renderer,
      wasm: found.wasm,
      hardwareConcurrency: found.hardwareConcurrency,
    };
    return targetOn(page, browser, server, info);
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await server.close();
    throw err;
  }
}

/** The executable to start: the one given (checked), else core's findChromium; a UserError saying what to install where there is none. */
export function browserExecutable(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given !== undefined) {
    const path = resolve(given);
    if (!isExecutableFile(path)) throw new UserError(`browser.executable=${given} is not an executable file; point it at a Chromium or Chrome executable, or leave it out to use the one on PATH.`);
    return path;
  }
  const found = findChromium(env);
  if (!found) throw new UserError(`target: browser needs Chromium and none was found; ${CHROMIUM_HOW_TO}, or give its path as browser.executable.`);
  return found;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function unavailableMessage(backend: BrowserBackend, version: string, reason: string): string {
  const advice =
    backend === 'wasm'
      ? 'use a newer Chromium (tfjs-backend-wasm needs WebAssembly)'
      : `use browser.backend: wasm, or run where this Chromium has a GPU it can use (headless Chromium without one offers no ${backend === 'webgpu' ? 'WebGPU adapter' : 'WebGL'})`;
  return `The ${backend} backend is not available in ${version} here (${reason}); ${advice}.`;
}

async function startChromium(executable: string, backend: BrowserBackend): Promise<Browser> {
  const { launch } = await import('puppeteer-core');
  const args = [
    // Chromium refuses to run as root with its sandbox; the page it loads is LENNA's own, from 127.0.0.1.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ...(backend === 'webgpu' ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan'] : []),
  ];
  // pipe: the DevTools protocol over stdio, so no debugging port is opened. Timing calls can run for
  // minutes, so no protocol timeout: Ctrl-C and the stage's own limits end them.
  return launch({ executablePath: executable, headless: true, pipe: true, args, protocolTimeout: 0 });
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err instanceof Error ? err.message : String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return errors;
}

/** The page's global, as page/entry.ts sets it (functions passed to page.evaluate run there). */
type PageGlobal = { lenna: PageApi };

function targetOn(page: Page, browser: Browser, server: StaticServer, info: BrowserInfo): BrowserTarget {
  const timer: LatencyTimer = {
    clock: 'wall',
    timeCell: (request) => page.evaluate((r) => (globalThis as unknown as PageGlobal).lenna.timeCell(r), request),
    timeOp: (request) => page.evaluate((r) => (globalThis as unknown as PageGlobal).lenna.timeOp(r), request),
    timeNetwork: (request) => page.evaluate((r) => (globalThis as unknown as PageGlobal).lenna.timeNetwork(r), request),
    close: () => close(),
  };
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await browser.close().catch(() => undefined);
      await server.close();
    })());
  return {
    info,
    timer,
    url: server.url,
    classify: (req) => page.evaluate((r) => (globalThis as unknown as PageGlobal).lenna.classify(r), req),
    cellOutput: (req) => page.evaluate((r) => (globalThis as unknown as PageGlobal).lenna.cellOutput(r), req),
    close,
  };
}
