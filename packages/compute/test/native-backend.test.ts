import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { environmentFingerprint, initBackend, nativeBackendName, nativeUsesGpu, UserError } from '../src/index.js';
import { RecordingBinding, registerRecordingTensorflow, tfjsNodeOrSkip } from '../src/testing/index.js';

/**
 * A stand-in for @tensorflow/tfjs-node-gpu on a machine without CUDA: importing it registers the
 * `tensorflow` backend (tfjs-node's own backend class over a stand-in binding that reports no GPU
 * device, as libtensorflow does when it finds none) and sets it active, as the real package does.
 */
vi.mock('@tensorflow/tfjs-node-gpu', async () => {
  const { tfjsNodeOrSkip: fetchIt, registerRecordingTensorflow: register } = await import('../src/testing/index.js');
  const dir = await fetchIt();
  if (!dir) throw new Error('tfjs-node is not available to stand in for tfjs-node-gpu');
  register(dir, { gpu: false });
  await tf.setBackend('tensorflow');
  return {};
});

describe('nativeBackendName: what a loaded native package really is', () => {
  test('tfjs-node-gpu on a GPU is tensorflow-gpu', () => {
    expect(nativeBackendName('tensorflow-gpu', true, false)).toBe('tensorflow-gpu');
    expect(nativeBackendName('tensorflow-gpu', true, true)).toBe('tensorflow-gpu');
  });

  test('tfjs-node-gpu without a GPU device is tensorflow, or an error naming lenna doctor when tensorflow-gpu was asked for', () => {
    expect(nativeBackendName('tensorflow-gpu', false, false)).toBe('tensorflow');
    expect(() => nativeBackendName('tensorflow-gpu', false, true)).toThrow(UserError);
    expect(() => nativeBackendName('tensorflow-gpu', false, true)).toThrow(/found no GPU device.*lenna doctor.*LENNA_BACKEND=tensorflow/);
  });

  test('tfjs-node (CPU) is tensorflow', () => {
    expect(nativeBackendName('tensorflow', false, true)).toBe('tensorflow');
  });
});

const tfjsNode = await tfjsNodeOrSkip();

describe.skipIf(!tfjsNode)('with tfjs-node-gpu 4.22.0’s own backend class over a binding that finds no GPU', () => {
  afterEach(() => {
    delete process.env.LENNA_BACKEND;
    vi.restoreAllMocks();
  });

  test('nativeUsesGpu reads what libtensorflow reported to tfjs-node (isUsingGpuDevice)', () => {
    registerRecordingTensorflow(tfjsNode!, { gpu: false });
    const backend = tf.findBackend('tensorflow');
    const NodeJSKernelBackend = (backend as object).constructor as new (binding: unknown, packageName: string) => unknown;
    expect(NodeJSKernelBackend.name).toBe('NodeJSKernelBackend');
    expect(nativeUsesGpu(backend)).toBe(false);
    expect(nativeUsesGpu(new NodeJSKernelBackend(new RecordingBinding(true), '@tensorflow/tfjs-node-gpu'))).toBe(true);
    expect(nativeUsesGpu(tf.findBackend('cpu'))).toBe(false);
  });

  test('LENNA_BACKEND=tensorflow-gpu is an error, not a silent run on the CPU', async () => {
    process.env.LENNA_BACKEND = 'tensorflow-gpu';
    await expect(initBackend({ quiet: true })).rejects.toThrow(/found no GPU device/);
  });

  test('chosen automatically, the package that found no GPU is reported as tensorflow on the CPU, and the fingerprint says so', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const info = await initBackend();
    expect(info).toMatchObject({ name: 'tensorflow', device: 'CPU', package: '@tensorflow/tfjs-node-gpu' });
    expect(tf.getBackend()).toBe('tensorflow');
    expect(stderr).toHaveBeenCalledWith(expect.stringMatching(/^backend: tensorflow \(tfjs .*found no GPU.*lenna doctor/));
    const fp = await environmentFingerprint();
    expect(fp).toMatchObject({ backend: 'tensorflow', gpu: null });
  });
});
