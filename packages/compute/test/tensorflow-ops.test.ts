import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { avgPool2d, batchNormTrain, conv2d, depthwiseConv2d, factorizedReduce, initBackend, maxPool2d } from '../src/index.js';
import { nonPortableRequests, registerRecordingTensorflow, tfjsNodeOrSkip, type RecordingTensorflow } from '../src/testing/index.js';
import { relativeError, values } from './reference.js';

const tfjsNode = await tfjsNodeOrSkip();

type Args = [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
const SHAPES: [number, number, number, number][] = [[2, 8, 8, 8], [3, 3, 8, 8], [3, 3, 8, 1], [5, 5, 8, 1], [1, 1, 8, 4], [1, 1, 8, 4]];

/** Every form nn's DARTS ops take: ReLU-conv-BN, sep/dil convs at stride 1 and 2, both pools at both strides, factorized reduce. */
function dartsOps(x: tf.Tensor4D, w: tf.Tensor4D, dw3: tf.Tensor4D, dw5: tf.Tensor4D, w1: tf.Tensor4D, w2: tf.Tensor4D): tf.Scalar {
  const bn = (t: tf.Tensor4D, g?: tf.Tensor) => batchNormTrain(t, g, undefined, () => undefined);
  const r = tf.relu(x);
  const normal = [
    bn(conv2d(r, w, { pad: 1 })),
    bn(depthwiseConv2d(r, dw3, { pad: 1 })),
    bn(depthwiseConv2d(r, dw5, { pad: 2 })),
    bn(depthwiseConv2d(r, dw3, { pad: 2, dilation: 2 })),
    bn(depthwiseConv2d(r, dw5, { pad: 4, dilation: 2 }), tf.scalar(0.7)),
    maxPool2d(x, { size: 3, stride: 1, pad: 1 }),
    avgPool2d(x, { size: 3, stride: 1, pad: 1 }),
  ];
  const reduce = [
    bn(depthwiseConv2d(r, dw3, { stride: 2, pad: 1 })),
    bn(depthwiseConv2d(r, dw5, { stride: 2, pad: 2 })),
    bn(depthwiseConv2d(r, dw3, { stride: 2, pad: 2, dilation: 2 })),
    bn(depthwiseConv2d(r, dw5, { stride: 2, pad: 4, dilation: 2 })),
    maxPool2d(x, { size: 3, stride: 2, pad: 1 }),
    avgPool2d(x, { size: 3, stride: 2, pad: 1 }),
    bn(factorizedReduce(r, w1, w2)),
  ];
  const weights = (n: number, seed: number) => tf.tensor1d(values(n, seed));
  const terms = [...normal, ...reduce].map((t, i) => tf.sum(tf.mul(tf.square(t), weights(t.size, 100 + i).reshape(t.shape))));
  return tf.addN(terms) as tf.Scalar;
}

async function valueAndGrads(backend: string): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const args = SHAPES.map((s, i) => tf.tensor4d(values(s.reduce((a, b) => a * b), i + 1), s)) as Args;
  const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => dartsOps(...(a as Args)))([...args]);
  const out = [value, ...grads].map((t) => t.dataSync() as Float32Array);
  tf.dispose([value, ...grads, ...args]);
  return out;
}

describe.skipIf(!tfjsNode)('compute’s ops through tfjs-node 4.22.0’s own kernels, over a stand-in binding that records what they ask TensorFlow', () => {
  let recording: RecordingTensorflow;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    recording = registerRecordingTensorflow(tfjsNode!);
  });

  test('the check is live: tfjs-node refuses the forms LENNA used to send (numeric pool padding, explicitly padded convolution gradients)', async () => {
    await tf.setBackend('tensorflow');
    const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D, w = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
    expect(() => tf.maxPool(x, 3, 2, 1)).toThrow(/TF Backend supports only 'valid' and 'same' padding/);
    expect(() => tf.avgPool(x, 3, 1, 1)).toThrow(/TF Backend supports only 'valid' and 'same' padding/);
    const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, w, 1, explicit)))(x)).toThrow(/TF Backend supports only 'valid' and 'same' padding/);
    tf.dispose([x, w]);
  });

  test('nonPortableRequests flags what the forms LENNA sends avoid: explicit padding, dilation', () => {
    const conv = 'Conv2D T=float32 data_format=NHWC dilations=[1,1,1,1] padding=SAME strides=[1,1,1,1]  ×1';
    expect(nonPortableRequests([conv, 'Mul T=float32  ×3'])).toEqual([]);
    const explicit = conv.replace('padding=SAME', 'explicit_paddings=[0,0,1,1,1,1,0,0] padding=EXPLICIT');
    const dilated = conv.replace('dilations=[1,1,1,1]', 'dilations=[1,2,2,1]');
    expect(nonPortableRequests([conv, explicit, dilated])).toEqual([explicit, dilated]);
  });

  test('the stand-in refuses what libtensorflow would misread: a depthwise convolution with dilations (its kernel ignores them)', async () => {
    await tf.setBackend('tensorflow');
    const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D, f = tf.ones([3, 3, 2, 1]) as tf.Tensor4D;
    expect(() => tf.depthwiseConv2d(x, f, 1, 'same', 'NHWC', 2)).toThrow(/dilations \[1,2,2,1\]/);
    tf.dispose([x, f]);
  });

  test('every DARTS op form and its gradients run there, with the values and gradients of the cpu backend, asking TensorFlow for SAME/VALID only', async () => {
    const want = await valueAndGrads('cpu');
    recording.clear();
    const got = await valueAndGrads('tensorflow');
    got.forEach((g, i) => expect(relativeError(g, want[i]), `output ${i}`).toBeLessThan(1e-5));
    const listing = recording.listing();
    console.log(`TensorFlow ops requested:\n${listing.join('\n')}`);
    expect(nonPortableRequests(listing)).toEqual([]);
    for (const op of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad', 'AvgPoolGrad', 'SpaceToBatchND', 'BatchToSpaceND']) {
      expect(listing.some((l) => l.startsWith(`${op} `)), op).toBe(true);
    }
  });
});

describe('without the npm registry', () => {
  const offline = async () => {
    const root = await mkdtemp(join(tmpdir(), 'lenna-tfjs-node-'));
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(root, 'npm-cache'), npm_config_fetch_retry_mintimeout: '100', npm_config_fetch_retry_maxtimeout: '200' };
    return { root, env };
  };

  test('the check is skipped with one line on stderr saying why and how to make it a failure', async () => {
    const { root, env } = await offline();
    delete env.LENNA_REQUIRE_TFJS_NODE;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await tfjsNodeOrSkip({ root, env })).toBeUndefined();
    const lines = stderr.mock.calls.map(([s]) => String(s));
    stderr.mockRestore();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^skipped the TensorFlow op check: @tensorflow\/tfjs-node@4\.22\.0 .* not found; to run it, give this machine access to the npm registry \(LENNA_REQUIRE_TFJS_NODE=1 makes this a failure\)\.\n$/);
    expect(lines[0]).toMatch(/ECONNREFUSED/);
    await rm(root, { recursive: true, force: true });
  });

  test('LENNA_REQUIRE_TFJS_NODE=1 makes it a failure', async () => {
    const { root, env } = await offline();
    await expect(tfjsNodeOrSkip({ root, env: { ...env, LENNA_REQUIRE_TFJS_NODE: '1' } })).rejects.toThrow(/LENNA_REQUIRE_TFJS_NODE=1 but @tensorflow\/tfjs-node@4\.22\.0 \(npm pack: .*\) is not found/);
    await rm(root, { recursive: true, force: true });
  });
});
