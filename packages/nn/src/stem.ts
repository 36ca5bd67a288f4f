import * as tf from '@tensorflow/tfjs';
import { batchNormLayer, convLayer, sequence, type Layer } from './layers.js';
import type { ParamBuilder } from './params.js';

/** 3×3 conv (padding 1, no bias) to stemC channels, then an affine BatchNorm, as both DARTS networks. */
export function createStem(pb: ParamBuilder, cin: number, stemC: number): Layer {
  return sequence([
    convLayer(pb, 'conv', { cin, cout: stemC, k: 3, stride: 1, pad: 1 }),
    batchNormLayer(pb, 'bn', stemC, true),
  ]);
}

export interface Classifier {
  apply(x: tf.Tensor4D): tf.Tensor2D;
  macs: number;
}

/** Global average pooling then a linear layer; weight stored [in, classes]. */
export function createClassifier(pb: ParamBuilder, cin: number, classes: number): Classifier {
  const weight = pb.uniform('weight', [cin, classes], cin);
  const bias = pb.uniform('bias', [classes], cin);
  return {
    apply: (x) => tf.add(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, weight as tf.Tensor2D), bias),
    macs: cin * classes,
  };
}
