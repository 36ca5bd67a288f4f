import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { CHROMIUM_HOW_TO, findChromium, systemRequirement, UserError } from '@lenna/core';
import { cellSubject, launchBrowserTarget, targetEnvironment, type BrowserTarget } from '../src/index.js';
import { TINY_CELL } from './fixtures.js';

const browser = systemRequirement(findChromium(), { thing: 'BROWSER', what: 'Chromium', tests: 'the browser measurement target tests', howTo: CHROMIUM_HOW_TO });

describe.skipIf(browser.skip)('the browser target (headless Chromium)', () => {
  let target: BrowserTarget;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    target = await launchBrowserTarget({ backend: 'wasm', executable: browser.get() });
  });
  afterAll(() => target?.close());

  it('starts LENNA’s page on the wasm backend and says which browser it is', () => {
    expect(target.timer.clock).toBe('wall');
    expect(target.info).toMatchObject({ backend: 'wasm', tfjsVersion: tf.version.tfjs, renderer: null, wasm: { simd: expect.any(Boolean), threads: expect.any(Number) } });
    expect(target.info.browser).toMatch(/^(Headless)?Chrom(e|ium)\/\d+\./);
    expect(target.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('times cells, ops and networks in the page: `runs` positive samples each', async () => {
    const cell = await target.timer.timeCell(TINY_CELL);
    const op = await target.timer.timeOp({ site: { op: 'dil_conv_5x5', stride: 1, cIn: 4, c: 4, hw: 8, batch: 2, kind: 'eval' }, seed: 0, runs: 2, warmup: 0 });
    const net = await target.timer.timeNetwork({
      network: { genotype: { normal: [['sep_conv_3x3', 0], ['skip_connect', 1]], normal_concat: [2], reduce: [['max_pool_3x3', 0], ['avg_pool_3x3', 1]], reduce_concat: [2] }, C: 4, layers: 3, numClasses: 3, inputChannels: 1, inputSize: 8 },
      batch: 2,
      seed: 0,
      runs: 2,
      warmup: 0,
    });
    for (const [samples, runs] of [[cell, 3], [op, 2], [net, 2]] as const) {
      expect(samples).toHaveLength(runs);
      for (const ms of samples) expect(ms).toBeGreaterThan(0);
    }
  });

  it('builds the very cell Node builds, of either kind: same code, same kernels, same numbers', async () => {
    for (const request of [TINY_CELL, { ...TINY_CELL, shape: { ...TINY_CELL.shape, kind: 'eval' as const } }]) {
      const page = await target.cellOutput(request);
      const subject = cellSubject(request);
      const here = tf.tidy(subject.run);
      const values = Array.from(here.dataSync());
      here.dispose();
      subject.dispose();
      expect(page).toHaveLength(values.length);
      const scale = Math.max(...values.map(Math.abs));
      expect(Math.max(...page.map((v, i) => Math.abs(v - values[i]))), request.shape.kind).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it('a request the page cannot build fails with the page’s own message', async () => {
    await expect(target.timer.timeCell({ ...TINY_CELL, choice: [99] })).rejects.toThrow(/Choice index 99 is outside the op set/);
  });

  it('puts the browser, its backend and renderer into the environment fingerprint', async () => {
    const env = await targetEnvironment({ target: 'browser', browser: { backend: 'wasm', executable: browser.get() } });
    expect(env).toMatchObject({ target: 'browser', browser: target.info.browser, backend: 'wasm', renderer: null, wasmSimd: target.info.wasm!.simd });
  });

  it('webgl: runs where this Chromium has WebGL (naming its renderer), else says so in one sentence', async () => {
    const webgl = await launchBrowserTarget({ backend: 'webgl', executable: browser.get() }).catch((err: unknown) => err);
    if (webgl instanceof Error) {
      expect(webgl).toBeInstanceOf(UserError);
      expect(webgl.message).toMatch(/^The webgl backend is not available in .+; use browser\.backend: wasm, .+\.$/);
      return;
    }
    const t = webgl as BrowserTarget;
    try {
      expect(t.info.renderer).toEqual(expect.any(String));
      expect(await t.timer.timeOp({ site: { op: 'max_pool_3x3', stride: 1, cIn: 2, c: 2, hw: 4, batch: 1, kind: 'search' }, seed: 0, runs: 2, warmup: 0 })).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
