import { defineStage, readArrowFile, requireColumns, tableFromRows, UserError, type InputArtifact } from '@lenna/core';
import { z } from 'zod';

/** Params: a strict zod schema, every field with a default, so `lenna params` can show them all. */
export const columnSummaryParams = z
  .object({
    /** The float column to summarise. */
    column: z.string().min(1).default('value'),
    /** Which quantiles to report, each in [0, 1]. */
    quantiles: z.array(z.number().min(0).max(1)).min(1).default([0.5, 0.9]),
  })
  .strict();

export type ColumnSummaryParams = z.output<typeof columnSummaryParams>;

export interface Summary {
  column: string;
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  std: number;
  min: number;
  max: number;
  quantiles: { q: number; value: number }[];
}

/** The q-quantile of sorted values, interpolating linearly between the two nearest ranks (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (at - below);
}

export function summarize(column: string, values: Float64Array, qs: number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const count = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / count;
  const squares = sorted.reduce((s, v) => s + (v - mean) ** 2, 0);
  return {
    column,
    count,
    mean,
    std: count > 1 ? Math.sqrt(squares / (count - 1)) : 0,
    min: sorted[0],
    max: sorted[count - 1],
    quantiles: qs.map((q) => ({ q, value: quantile(sorted, q) })),
  };
}

/** The one .arrow file of the input; a user who wires the wrong output gets told which and why. */
function arrowFile(input: InputArtifact): string {
  const files = input.files.filter((f) => f.endsWith('.arrow'));
  if (files.length !== 1) {
    throw new UserError(`input table (artifact ${input.id}) holds ${files.length} .arrow files (${input.files.join(', ')}); connect an output with exactly one table.`);
  }
  return input.path(files[0]);
}

export const stage = defineStage({
  name: 'column-summary',
  // Bump when the outputs would change for the same inputs and params (a new statistic, a fixed bug).
  version: 1,
  description: 'count, mean, spread and quantiles of one column of a table',
  params: columnSummaryParams,
  inputs: { table: { kind: 'arrow', description: 'an artifact holding one Arrow table with the column' } },
  outputs: {
    summary: { kind: 'json', description: 'summary.json: column, count, mean, std, min, max, quantiles [{q, value}]' },
    quantiles: { kind: 'arrow', description: 'quantiles.arrow: one row per quantile, columns q (float), value (float)' },
  },
  // Nothing here depends on how fast this machine is, so the environment stays out of the cache key.
  measures: false,
  async run(ctx) {
    const { column, quantiles } = ctx.params;
    const file = arrowFile(ctx.inputs.table);
    const table = await readArrowFile(file);
    requireColumns(table, { [column]: 'float' }, file);
    const values = Float64Array.from(table.getChild(column)?.toArray() as ArrayLike<number>);
    if (values.length === 0) throw new UserError(`${file} has no rows; give the stage a table with at least one row.`);
    ctx.progress({ done: 0, total: 1, label: `${values.length} rows` });
    const summary = summarize(column, values, quantiles);
    ctx.log(`${column}: mean ${summary.mean.toPrecision(4)} over ${summary.count} rows`);
    await ctx.writeJson('summary', 'summary.json', summary);
    await ctx.writeTable('quantiles', 'quantiles.arrow', tableFromRows(summary.quantiles, { q: 'float', value: 'float' }));
    ctx.progress({ done: 1, total: 1 });
  },
});
