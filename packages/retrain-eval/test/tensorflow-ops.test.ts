import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '@lenna/compute';
import { nonPortableRequests, registerRecordingTensorflow, tfjsNodeOrSkip, writeListing, type RecordingTensorflow } from '@lenna/compute/testing';
import { createEvalNetwork, type Genotype } from '@lenna/nn';
import { loadDataset } from '@lenna/data';
import { trainEvalNetwork, type EpochRecord } from '../src/train.js';

/**
 * The GPU path, checked here without a GPU: the training the retrain-eval stage runs, through
 * tfjs-node 4.22.0's own kernels over a stand-in binding that records every op they ask TensorFlow
 * for (see compute's README). The same training on the cpu backend is the reference.
 */
const tfjsNode = await tfjsNodeOrSkip();

/** Every DARTS op in both cells; skip_connect in the reduction cell is a factorized reduce. */
const GENOTYPE: Genotype = {
  normal: [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['dil_conv_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 1], ['avg_pool_3x3', 3], ['skip_connect', 0], ['sep_conv_3x3', 4]],
  normal_concat: [2, 3, 4, 5],
  reduce: [['max_pool_3x3', 0], ['avg_pool_3x3', 1], ['skip_connect', 0], ['dil_conv_5x5', 1], ['sep_conv_5x5', 0], ['dil_conv_3x3', 1], ['sep_conv_3x3', 1], ['skip_connect', 2]],
  reduce_concat: [2, 3, 4, 5],
};

/**
 * The evaluation network with its auxiliary head (a 5×5 map at cell 2: 20 → 10 → 5), small. Two
 * epochs of one batch each: drop path ramps from 0 in the first epoch, so the second step drops paths.
 */
async function retrain(backend: string): Promise<{ history: EpochRecord[]; updates: Float32Array[] }> {
  await tf.setBackend(backend);
  const data = await loadDataset({ name: 'synthetic', seed: 4, synthetic: { count: 24, hw: 20, channels: 3, classes: 4 } });
  const net = createEvalNetwork({ genotype: GENOTYPE, C: 4, layers: 3, numClasses: data.train.numClasses, inputChannels: 3, inputSize: 20, auxiliary: true, seed: 2 });
  const before = net.weights.map((w) => w.dataSync().slice() as Float32Array);
  const history = await trainEvalNetwork(net, data.train, data.val, {
    epochs: 2, batchSize: data.train.count, lr: 0.025, lrMin: 0, momentum: 0.9, weightDecay: 3e-4, gradClip: 5, auxiliaryWeight: 0.4, dropPath: 0.2, seed: 3,
  });
  const updates = net.weights.map((w, i) => (w.dataSync() as Float32Array).map((v, j) => v - before[i][j]));
  net.dispose();
  return { history, updates };
}

/** max |a − b| / max |b| over all tensors together. */
function relativeOverAll(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0, scale = 1e-12;
  a.forEach((t, i) => t.forEach((v, j) => ((diff = Math.max(diff, Math.abs(v - b[i][j]))), (scale = Math.max(scale, Math.abs(b[i][j]))))));
  return diff / scale;
}

describe.skipIf(!tfjsNode)('retrain-eval’s training on the tensorflow backend (tfjs-node 4.22.0 kernels, recording stand-in binding)', () => {
  let recording: RecordingTensorflow;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    recording = registerRecordingTensorflow(tfjsNode!, { gpu: true });
  });

  test('two training steps (drop path in the second) and the evaluation: no kernel throws, SAME/VALID only, the cpu backend’s numbers', async () => {
    const want = await retrain('cpu');
    recording.clear();
    const got = await retrain('tensorflow');
    const listing = recording.listing();
    const file = await writeListing('retrain-eval', listing);
    console.log(`TensorFlow ops and attributes the retrain-eval steps requested (also in ${file}):\n${listing.join('\n')}`);
    expect(nonPortableRequests(listing)).toEqual([]);
    for (const op of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'MaxPoolGrad', 'AvgPoolGrad', 'SpaceToBatchND']) {
      expect(listing.some((l) => l.startsWith(`${op} `)), op).toBe(true);
    }
    // The auxiliary head's 5×5 average pool at stride 3.
    expect(listing.some((l) => /^AvgPoolGrad .*ksize=\[1,5,5,1\] padding=VALID strides=\[1,3,3,1\]/.test(l))).toBe(true);
    got.history.forEach((r, e) => {
      expect(r.train_loss).toBeCloseTo(want.history[e].train_loss, 4);
      expect(r.val_acc).toBe(want.history[e].val_acc);
    });
    // The two trainings' weight updates agree to float32 rounding (6e-4 measured: BatchNorm's bias
    // gradients, sums of 9600 terms that mostly cancel, summed in another order); a form reading other
    // pixels would change them by O(1).
    expect(relativeOverAll(got.updates, want.updates)).toBeLessThan(2e-3);
  });
});
