// A stage in one plain JS file (`uses: ./numbers.js`): `count` normal draws from `seed`, as a table
// with one float column `value`. It feeds the column-summary example in example.yaml.
import { createRng, defineStage, tableFromRows } from '@lenna/core';
import { z } from 'zod';

export const stage = defineStage({
  name: 'numbers',
  version: 1,
  description: 'normal random numbers',
  params: z.object({ count: z.number().int().positive().default(1000), seed: z.number().int().default(0) }).strict(),
  inputs: {},
  outputs: { table: { kind: 'arrow', description: 'table.arrow: one float column, value' } },
  measures: false,
  async run(ctx) {
    const rng = createRng(ctx.params.seed);
    const rows = Array.from({ length: ctx.params.count }, () => ({ value: rng.normal() }));
    await ctx.writeTable('table', 'table.arrow', tableFromRows(rows, { value: 'float' }));
  },
});
