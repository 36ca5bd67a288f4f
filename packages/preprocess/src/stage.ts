import { z } from 'zod';
import { defineStage, readArrowFile, UserError, type InputArtifact } from '@lenna/core';
import { fitTransforms, readCellRows, shapeKey } from '@lenna/latency-model';
import { stratifiedSplit } from './split.js';
import { takeRows } from './table.js';

const params = z
  .object({
    seed: z.number().int().min(0).default(0),
    valFraction: z.number().gt(0).lt(1).default(0.15),
    testFraction: z.number().gt(0).lt(1).default(0.15),
    probs: z.enum(['raw', 'standardise']).default('raw'),
  })
  .strict()
  .refine((p) => p.valFraction + p.testFraction < 1, {
    message: 'valFraction + testFraction must be below 1 so that train keeps rows',
  });

/** The dataset's Arrow file: dataset.arrow, or the artifact's only .arrow file. */
export function datasetFile(input: InputArtifact): string {
  if (input.files.includes('dataset.arrow')) return input.path('dataset.arrow');
  const arrows = input.files.filter((f) => f.endsWith('.arrow'));
  if (arrows.length !== 1) {
    throw new UserError(`Input 'dataset' (${input.id}) should hold dataset.arrow or exactly one .arrow file; it holds ${input.files.join(', ') || 'nothing'}.`);
  }
  return input.path(arrows[0]);
}

export const stage = defineStage({
  name: 'preprocess',
  version: 2,
  description: 'Split the latency dataset into train/val/test stratified by cell shape, and fit the feature transforms on train.',
  params,
  inputs: { dataset: { kind: 'arrow', description: "dataset-gen's table: one row per measured cell" } },
  outputs: {
    train: { kind: 'arrow', description: 'train.arrow: the train rows, all dataset columns' },
    val: { kind: 'arrow', description: 'val.arrow: the validation rows (early stopping)' },
    test: { kind: 'arrow', description: 'test.arrow: the held-out rows for metrics' },
    transforms: { kind: 'json', description: 'transforms.json: feature order and the transforms fitted on train' },
  },
  measures: false,
  async run(ctx) {
    const file = datasetFile(ctx.inputs.dataset);
    const table = await readArrowFile(file);
    const { rows, ops, edges } = readCellRows(table, file);
    const split = stratifiedSplit(rows.map(shapeKey), ctx.params, ctx.params.seed);
    const transforms = fitTransforms(split.train.map((i) => rows[i]), { ops, probs: ctx.params.probs });
    ctx.log(`${rows.length} rows, ${edges} edges x ${ops.length} ops; train ${split.train.length}, val ${split.val.length}, test ${split.test.length}`);
    for (const name of ['train', 'val', 'test'] as const) {
      await ctx.writeTable(name, `${name}.arrow`, takeRows(table, split[name]));
    }
    await ctx.writeJson('transforms', 'transforms.json', transforms);
  },
});
