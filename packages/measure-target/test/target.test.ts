import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentFingerprint, hostFingerprint } from '@lenna/compute';
import { CHROMIUM_HOW_TO, UserError } from '@lenna/core';
import { browserExecutable, browserFingerprint, checkTargetParams, describeTarget, TARGET_PARAMS, targetEnvironment, targetMetadata, type BrowserInfo } from '../src/index.js';
import { unavailableMessage } from '../src/browser.js';

/** A stage's params schema as dataset-gen and retrain-eval write it. */
const Params = z.object({ runs: z.number().default(3), ...TARGET_PARAMS }).strict().superRefine(checkTargetParams);
const issues = (value: unknown) => Params.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

const root = await mkdtemp(join(tmpdir(), 'lenna-target-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the target params', () => {
  it('default to node; browser defaults to the wasm backend', () => {
    expect(Params.parse({})).toEqual({ runs: 3, target: 'node' });
    expect(Params.parse({ target: 'browser' })).toEqual({ runs: 3, target: 'browser' });
    expect(Params.parse({ target: 'browser', browser: {} })).toEqual({ runs: 3, target: 'browser', browser: { backend: 'wasm' } });
    expect(Params.parse({ target: 'browser', browser: { backend: 'webgpu', executable: '/opt/chrome' } }).browser).toEqual({ backend: 'webgpu', executable: '/opt/chrome' });
  });

  it('name what is wrong: browser without target browser, an unknown target, backend or key', () => {
    expect(issues({ browser: { backend: 'wasm' } })).toEqual(['browser: browser is set but target is node; set target: browser to measure in the browser, or leave browser out']);
    expect(issues({ target: 'phone' })[0]).toMatch(/^target: .*"node"\|"browser"/);
    expect(issues({ target: 'browser', browser: { backend: 'cpu' } })[0]).toMatch(/^browser\.backend: .*"wasm"\|"webgl"\|"webgpu"/);
    expect(issues({ target: 'browser', browser: { headless: false } })[0]).toMatch(/^browser: .*headless/);
  });

  it('refuse a cpu clock in the browser, where the stage keeps its clock', () => {
    const WithClock = z.object({ clock: z.enum(['auto', 'wall', 'cpu']).default('auto'), ...TARGET_PARAMS }).strict().superRefine((p, ctx) => checkTargetParams(p, ctx));
    const Nested = z.object({ measure: z.object({ clock: z.string() }), ...TARGET_PARAMS }).strict().superRefine((p, ctx) => checkTargetParams(p, ctx, ['measure', 'clock']));
    const message = 'is cpu, but a browser page has no CPU-time clock; use wall or auto (wall time in the browser), or target: node';
    expect(WithClock.safeParse({ target: 'browser', clock: 'cpu' }).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['clock', message]]);
    expect(Nested.safeParse({ target: 'browser', measure: { clock: 'cpu' } }).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['measure.clock', message]]);
    expect(WithClock.safeParse({ target: 'browser', clock: 'auto' }).success).toBe(true);
    expect(WithClock.safeParse({ target: 'node', clock: 'cpu' }).success).toBe(true);
  });
});

describe('the browser executable', () => {
  it('is the one given when it is an executable file, else one sentence saying what to point it at', async () => {
    const chrome = join(root, 'chrome');
    await writeFile(chrome, '#!/bin/sh\n');
    await chmod(chrome, 0o755);
    expect(browserExecutable(chrome, {})).toBe(chrome);
    await chmod(chrome, 0o644);
    expect(() => browserExecutable(chrome, {})).toThrow(UserError);
    expect(() => browserExecutable(chrome, {})).toThrow(`browser.executable=${chrome} is not an executable file; point it at a Chromium or Chrome executable, or leave it out to use the one on PATH.`);
  });

  it('without one given, comes from core findChromium, and its absence says what to install', async () => {
    const chromium = join(root, 'bin-chromium');
    await writeFile(chromium, '#!/bin/sh\n');
    await chmod(chromium, 0o755);
    expect(browserExecutable(undefined, { CHROMIUM_PATH: chromium })).toBe(chromium);
    expect(() => browserExecutable(undefined, { PATH: join(root, 'nothing-here') })).toThrow(
      `target: browser needs Chromium and none was found; ${CHROMIUM_HOW_TO}, or give its path as browser.executable.`,
    );
  });
});

const info: BrowserInfo = {
  browser: 'Chrome/156.0.8078.114',
  backend: 'webgl',
  tfjsVersion: '4.22.0',
  userAgent: 'HeadlessChrome/156',
  renderer: 'ANGLE (SwiftShader)',
  wasm: null,
  hardwareConcurrency: 2,
};

describe('where a measurement ran', () => {
  it('node keeps compute’s fingerprint as it was, so the cache keys of node measurements do not change', async () => {
    expect(await targetEnvironment({ target: 'node' })).toEqual(await environmentFingerprint());
  });

  it('browser: the browser, its backend and renderer, tfjs and the machine join the fingerprint', () => {
    expect(browserFingerprint(info)).toEqual({ target: 'browser', browser: 'Chrome/156.0.8078.114', backend: 'webgl', tfjsVersion: '4.22.0', renderer: 'ANGLE (SwiftShader)', wasmSimd: null, wasmThreads: null, ...hostFingerprint() });
    expect(browserFingerprint({ ...info, backend: 'wasm', renderer: null, wasm: { simd: true, threads: 1 } })).toMatchObject({ backend: 'wasm', renderer: null, wasmSimd: true, wasmThreads: 1 });
  });

  it('is named in Arrow metadata and logs', () => {
    const browser = { target: 'browser', backend: 'webgl', browser: info.browser, renderer: info.renderer, clock: 'wall' } as const;
    expect(targetMetadata(browser)).toEqual({ 'lenna.target': 'browser', 'lenna.backend': 'webgl', 'lenna.clock': 'wall', 'lenna.browser': 'Chrome/156.0.8078.114', 'lenna.renderer': 'ANGLE (SwiftShader)' });
    expect(targetMetadata({ target: 'node', backend: 'wasm', browser: null, renderer: null, clock: 'cpu' })).toEqual({ 'lenna.target': 'node', 'lenna.backend': 'wasm', 'lenna.clock': 'cpu' });
    expect(describeTarget(browser)).toBe('browser Chrome/156.0.8078.114 (webgl, ANGLE (SwiftShader)), wall clock');
    expect(describeTarget({ ...browser, backend: 'wasm', renderer: null })).toBe('browser Chrome/156.0.8078.114 (wasm), wall clock');
    expect(describeTarget({ target: 'node', backend: 'cpu', browser: null, renderer: null, clock: 'cpu' })).toBe('node (cpu), cpu clock');
  });

  it('a backend the browser lacks is one sentence naming it and what to try', () => {
    expect(unavailableMessage('webgpu', 'Chrome/156.0.8078.114', 'navigator.gpu has no adapter')).toBe(
      'The webgpu backend is not available in Chrome/156.0.8078.114 here (navigator.gpu has no adapter); use browser.backend: wasm, or run where this Chromium has a GPU it can use (headless Chromium without one offers no WebGPU adapter).',
    );
    expect(unavailableMessage('webgl', 'Chrome/1', 'tfjs could not start it')).toMatch(/^The webgl backend is not available in Chrome\/1 here \(tfjs could not start it\); use browser\.backend: wasm, .*no WebGL\)\.$/);
  });
});
