import { defineStage } from '@lenna/core';
import { environmentFingerprint, initBackend } from '@lenna/compute';
import { generateDataset, type GeneratedDataset } from './generate.js';
import { DatasetGenParamsSchema } from './params.js';
import { createTfjsTimer } from './tfjs-timer.js';

export const DATASET_FILE = 'dataset.arrow';
export const OP_LUT_FILE = 'op-lut.arrow';

export const stage = defineStage({
  name: 'dataset-gen',
  version: 3,
  description: 'Measures the expected latency of sampled DARTS cells (search and eval cells) on this backend, with its standard error, and an op lookup table.',
  params: DatasetGenParamsSchema,
  inputs: {},
  outputs: {
    dataset: { kind: 'arrow', description: 'one row per sampled cell: shape and kind, op probabilities per edge, measured latency and its standard error, additive latency' },
    'op-lut': { kind: 'arrow', description: 'each op alone at every site the cells use: median and quantiles in ms' },
  },
  measures: true,
  environment: () => environmentFingerprint(),
  async run(ctx) {
    const backend = await initBackend({ quiet: true });
    const timer = await createTfjsTimer({ clock: ctx.params.clock });
    ctx.log(`dataset-gen: backend ${backend.name} (tfjs ${backend.tfjsVersion}), ${timer.clock} clock`);
    try {
      const result = await generateDataset({
        params: ctx.params,
        scratchDir: ctx.scratchDir,
        timer,
        exclusive: (fn) => ctx.exclusive(fn),
        progress: (event) => ctx.progress(event),
        log: (message) => ctx.log(message),
        signal: ctx.signal,
      });
      await ctx.writeTable('dataset', DATASET_FILE, result.dataset);
      await ctx.writeTable('op-lut', OP_LUT_FILE, result.opLut);
      ctx.log(summarise(result));
    } finally {
      await timer.close?.();
    }
  },
});

/** One line for the log: size of the data set, the labels' standard error, how far the additive estimate is from the measurement. */
export function summarise(result: GeneratedDataset): string {
  const rows = result.rows;
  const errors = rows.map((r) => Math.abs(r.lutLatencyMs - r.measured.latencyMs) / r.measured.latencyMs);
  const mape = errors.reduce((a, b) => a + b, 0) / Math.max(errors.length, 1);
  const relativeSe = rows.map((r) => (r.measured.seMs ?? Infinity) / r.measured.latencyMs).sort((a, b) => a - b);
  const median = relativeSe[Math.floor((relativeSe.length - 1) / 2)] ?? NaN;
  const unconverged = rows.filter((r) => !r.measured.converged).length;
  return (
    `dataset-gen: ${rows.length} rows over ${result.shapes.length} shapes, ${result.lut.length} op sites; ` +
    `median standard error ${(100 * median).toFixed(1)}%; additive estimate MAPE ${(100 * mape).toFixed(1)}%; ${unconverged} rows hit maxResets`
  );
}
