import { join } from 'node:path';
import { writeFileAtomic, type StageContext } from '@lenna/core';
import type { DatasetSpec, ImageSet } from '@lenna/data';
import { exportWebModel, genotypeToText, WEB_MODEL_INPUT, WEB_MODEL_JSON, WEB_MODEL_OUTPUT, WEB_MODEL_WEIGHTS, type EvalNetwork } from '@lenna/nn';

/**
 * What a page must do to an image before the web model sees it, and what comes out: model.json's
 * userDefinedMetadata (GraphModel.metadata once loaded).
 */
export interface WebModelMetadata {
  input: { name: string; layout: 'NHWC'; size: number; channels: number };
  /** `(pixel / 255 − mean[c]) / std[c]` per channel, pixels being 0–255 bytes. */
  normalisation: { pixelScale: 255; mean: number[]; std: number[] };
  /** Images were resized bilinearly to `size` (tf.image.resizeBilinear, no half-pixel offset) before normalising; null: used at their size. */
  resize: number | null;
  output: { name: string; meaning: 'logits' };
  numClasses: number;
  classNames: string[] | null;
  dataset: string;
  genotype: string;
  C: number;
  layers: number;
}

export function webModelMetadata(net: EvalNetwork, train: ImageSet, dataset: DatasetSpec): WebModelMetadata {
  const c = net.config;
  const norm = train.normalisation ?? { mean: new Array<number>(c.inputChannels).fill(0), std: new Array<number>(c.inputChannels).fill(1 / 255) };
  return {
    input: { name: WEB_MODEL_INPUT, layout: 'NHWC', size: c.inputSize, channels: c.inputChannels },
    normalisation: { pixelScale: 255, mean: [...norm.mean], std: [...norm.std] },
    resize: dataset.resize ?? null,
    output: { name: WEB_MODEL_OUTPUT, meaning: 'logits' },
    numClasses: c.numClasses,
    classNames: train.classNames ?? null,
    dataset: dataset.name,
    genotype: genotypeToText(c.genotype),
    C: c.C,
    layers: c.layers,
  };
}

/** The `web-model` output: model.json and its weight shard (nn's exportWebModel of the trained network). */
export async function writeWebModel(ctx: Pick<StageContext<unknown>, 'writeText' | 'outputDir'>, net: EvalNetwork, metadata: WebModelMetadata): Promise<void> {
  const model = await exportWebModel(net, { ...metadata });
  await ctx.writeText('web-model', WEB_MODEL_JSON, JSON.stringify(model.modelJson));
  await writeFileAtomic(join(ctx.outputDir('web-model'), WEB_MODEL_WEIGHTS), model.weightData);
}
