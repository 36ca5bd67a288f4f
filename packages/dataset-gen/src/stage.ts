import { defineStage, median, withSchemaMetadata } from '@lenna/core';
import { describeTarget, openTarget, targetEnvironment, targetMetadata } from '@lenna/measure-target';
import { generateDataset, type GeneratedDataset } from './generate.js';
import { DatasetGenParamsSchema } from './params.js';

export const DATASET_FILE = 'dataset.arrow';
export const OP_LUT_FILE = 'op-lut.arrow';

export const stage = defineStage({
  name: 'dataset-gen',
  version: 3,
  description: 'Measures the expected latency of sampled DARTS cells (search and eval cells) on this backend or in a browser, with its standard error, and an op lookup table.',
  params: DatasetGenParamsSchema,
  inputs: {},
  outputs: {
    dataset: { kind: 'arrow', description: 'one row per sampled cell: shape and kind, op probabilities per edge, measured latency and its standard error, additive latency' },
    'op-lut': { kind: 'arrow', description: 'each op alone at every site the cells use: median and quantiles in ms' },
  },
  measures: true,
  environment: (p) => targetEnvironment(p),
  async run(ctx) {
    // The target's timer (this process's tfjs, or LENNA's page in headless Chromium) is dataset-gen's LatencyTimer.
    const target = await openTarget(ctx.params, ctx.log);
    try {
      ctx.log(`dataset-gen: measuring on ${describeTarget(target.label)}`);
      const result = await generateDataset({
        params: ctx.params,
        scratchDir: ctx.scratchDir,
        timer: target.timer,
        exclusive: (fn) => ctx.exclusive(fn),
        progress: (event) => ctx.progress(event),
        log: (message) => ctx.log(message),
        signal: ctx.signal,
      });
      const measuredOn = targetMetadata(target.label);
      await ctx.writeTable('dataset', DATASET_FILE, withSchemaMetadata(result.dataset, measuredOn));
      await ctx.writeTable('op-lut', OP_LUT_FILE, withSchemaMetadata(result.opLut, measuredOn));
      ctx.log(summarise(result));
    } finally {
      await target.close();
    }
  },
});
/** One line for the log: size of the data set, the labels' standard error, how far the additive estimate is from the measurement. */
export function summarise(result: GeneratedDataset): string {
  const rows = result.rows;
  const errors = rows.map((r) => Math.abs(r.lutLatencyMs - r.measured.latencyMs) / r.measured.latencyMs);
  const mape = errors.reduce((a, b) => a + b, 0) / Math.max(errors.length, 1);
  const medianSe = median(rows.map((r) => (r.measured.seMs ?? Infinity) / r.measured.latencyMs));
  const unconverged = rows.filter((r) => !r.measured.converged).length;
  return (
    `dataset-gen: ${rows.length} rows over ${result.shapes.length} shapes, ${result.lut.length} op sites; ` +
    `median standard error ${(100 * medianSe).toFixed(1)}%; additive estimate MAPE ${(100 * mape).toFixed(1)}%; ${unconverged} rows hit maxResets`
  );
}
