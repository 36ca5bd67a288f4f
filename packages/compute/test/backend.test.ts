import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { environmentFingerprint, initBackend, UserError } from '../src/index.js';

// One process per test file (vitest forks), and initBackend holds per-process state: these tests run in order.
describe('initBackend', () => {
  afterEach(() => {
    delete process.env.LENNA_BACKEND;
    vi.restoreAllMocks();
  });

  test('an unknown LENNA_BACKEND is a UserError listing the valid names', async () => {
    process.env.LENNA_BACKEND = 'gpu';
    await expect(initBackend({ quiet: true })).rejects.toThrow(UserError);
    await expect(initBackend({ quiet: true })).rejects.toThrow(/LENNA_BACKEND='gpu'.*tensorflow-gpu, tensorflow, wasm, cpu/);
  });

  test('asking for a native backend that is not installed names the package to install', async () => {
    await expect(initBackend({ backend: 'tensorflow', quiet: true })).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
    process.env.LENNA_BACKEND = 'tensorflow-gpu';
    await expect(initBackend({ quiet: true })).rejects.toThrow(/@tensorflow\/tfjs-node-gpu/);
  });

  test('LENNA_BACKEND picks the backend, reports it on stderr once, and single-threaded wasm starts', async () => {
    process.env.LENNA_BACKEND = 'wasm';
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const info = await initBackend();
    expect(info).toEqual({ name: 'wasm', tfjsVersion: tf.version.tfjs, threads: 1 });
    expect(tf.getBackend()).toBe('wasm');
    expect(stderr).toHaveBeenCalledWith(`backend: wasm (tfjs ${tf.version.tfjs})\n`);
    expect(await initBackend()).toBe(info);
    expect(stderr.mock.calls.filter(([s]) => String(s).startsWith('backend:'))).toHaveLength(1);
    expect(tf.sum(tf.ones([3])).dataSync()[0]).toBe(3);
  });

  test('once initialised, asking for another backend is an error rather than a silent switch', async () => {
    await expect(initBackend({ backend: 'cpu', quiet: true })).rejects.toThrow(/already initialised as 'wasm'/);
    expect((await initBackend({ quiet: true })).name).toBe('wasm');
  });

  test('the environment fingerprint names backend, tfjs, CPU and GPU', async () => {
    const fp = await environmentFingerprint();
    expect(fp).toMatchObject({ backend: 'wasm', tfjsVersion: tf.version.tfjs, threads: 1 });
    expect(typeof fp.cpuModel).toBe('string');
    expect(fp.cpuCores).toBeGreaterThan(0);
    expect(fp.gpu === null || typeof fp.gpu === 'string').toBe(true);
    expect(JSON.parse(JSON.stringify(fp))).toEqual(fp);
  });
});
