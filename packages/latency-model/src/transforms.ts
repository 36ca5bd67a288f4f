import { z } from 'zod';
import { UserError } from '@lenna/core';
import type { BatchedCellShape, CellFeatures, CellRow } from './cell.js';
import { NUMERIC_SHAPE_COLUMNS, probColumnNames } from './columns.js';

const standardiser = z.object({ mean: z.number(), std: z.number().positive() }).strict();
export type Standardiser = z.infer<typeof standardiser>;

export type ProbMode = 'raw' | 'standardise';

const transformsSchema = z
  .object({
    format: z.literal('lenna-transforms'),
    version: z.literal(2),
    ops: z.array(z.string()).min(1),
    edges: z.number().int().positive(),
    /** Names of the model's input features, in order. */
    featureOrder: z.array(z.string()),
    /** One-hot block type: feature block_<category> is 1 for that category. */
    blockTypes: z.tuple([z.literal('normal'), z.literal('reduction')]),
    /** Standardisers of ln(value) per numeric shape column. */
    numeric: z.object({
      c_prev_prev: standardiser,
      c_in: standardiser,
      c: standardiser,
      hw: standardiser,
      batch: standardiser,
    }),
    /** Standardiser of ln(lut_latency_ms), the additive estimate (feature log_additive). */
    additive: standardiser,
    probs: z.discriminatedUnion('mode', [
      z.object({ mode: z.literal('raw') }).strict(),
      z.object({ mode: z.literal('standardise'), mean: z.array(z.number()), std: z.array(z.number().positive()) }).strict(),
    ]),
    /** A model of the latency itself has the target (ln(latency_ms) - mean) / std. */
    target: standardiser,
    /** A model of the residual over the additive estimate: (ln(latency_ms / lut_latency_ms) - mean) / std. */
    residual: standardiser,
  })
  .strict();

export type Transforms = z.infer<typeof transformsSchema>;

/** Validate a transforms JSON value (e.g. read from transforms.json); `where` names its file in errors. */
export function parseTransforms(value: unknown, where: string): Transforms {
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version < 2) {
    throw new UserError(`${where}: transforms version ${version} has no cell kind or additive feature; re-run preprocess (and the predictor) on a data set from this dataset-gen.`);
  }
  const parsed = transformsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${where}: not a LENNA transforms file (${issue.path.join('.') || 'root'}: ${issue.message}).`);
  }
  const t = parsed.data;
  const expected = t.edges * t.ops.length;
  if (t.probs.mode === 'standardise' && (t.probs.mean.length !== expected || t.probs.std.length !== expected)) {
    throw new UserError(`${where}: probs.mean and probs.std need ${expected} entries (edges x ops), got ${t.probs.mean.length} and ${t.probs.std.length}.`);
  }
  if (t.featureOrder.length !== CELL_FEATURES.length + expected) {
    throw new UserError(`${where}: featureOrder has ${t.featureOrder.length} names, expected ${CELL_FEATURES.length + expected}.`);
  }
  return t;
}

/** The shape part of the feature vector, in order. */
export const SHAPE_FEATURES = [
  'block_normal',
  'block_reduction',
  'reduction_prev',
  'cell_eval',
  ...NUMERIC_SHAPE_COLUMNS.map(({ column }) => `log_${column}`),
];

/** Every feature before the probabilities: the shape's, then the standardised ln of the additive estimate. */
export const CELL_FEATURES = [...SHAPE_FEATURES, 'log_additive'];

// A column that is constant on train (e.g. one batch size) gets std 1, so it maps to 0 instead of NaN.
const MIN_STD = 1e-8;

function fitStandardiser(values: ArrayLike<number>): Standardiser {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  const std = Math.sqrt(squares / n);
  return { mean, std: std > MIN_STD ? std : 1 };
}

/** Fit every transform on `rows` (the train split only, so nothing about val/test leaks in). */
export function fitTransforms(rows: readonly CellRow[], options: { ops: string[]; probs?: ProbMode }): Transforms {
  if (rows.length === 0) throw new Error('fitTransforms needs at least one row.');
  const { ops } = options;
  const width = rows[0].probs.length;
  const edges = width / ops.length;
  if (!Number.isInteger(edges)) throw new Error(`A row has ${width} probabilities, not a multiple of ${ops.length} ops.`);
  const numericOf = (column: (typeof NUMERIC_SHAPE_COLUMNS)[number]) =>
    fitStandardiser(rows.map((row) => Math.log(row[column.field])));
  const [cpp, cin, c, hw, batch] = NUMERIC_SHAPE_COLUMNS.map(numericOf);
  const probFeatures = probColumnNames(edges, ops);
  return {
    format: 'lenna-transforms',
    version: 2,
    ops: [...ops],
    edges,
    featureOrder: [...CELL_FEATURES, ...probFeatures],
    blockTypes: ['normal', 'reduction'],
    numeric: { c_prev_prev: cpp, c_in: cin, c, hw, batch },
    additive: fitStandardiser(rows.map((row) => Math.log(row.additiveMs))),
    probs: options.probs === 'standardise' ? fitProbStandardisers(rows, width) : { mode: 'raw' },
    target: fitStandardiser(rows.map((row) => Math.log(row.latencyMs))),
    residual: fitStandardiser(rows.map((row) => Math.log(row.latencyMs / row.additiveMs))),
  };
}

function fitProbStandardisers(rows: readonly CellRow[], width: number): Transforms['probs'] {
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < width; j++) {
    const s = fitStandardiser(rows.map((row) => row.probs[j]));
    mean.push(s.mean);
    std.push(s.std);
  }
  return { mode: 'standardise', mean, std };
}

export function featureCount(t: Transforms): number {
  return t.featureOrder.length;
}

/** The transformed cell features of one cell (the first CELL_FEATURES.length model inputs). */
export function cellFeatureValues(t: Transforms, cell: BatchedCellShape & { additiveMs: number }): number[] {
  const numeric = NUMERIC_SHAPE_COLUMNS.map(({ field, column }) => {
    const s = t.numeric[column];
    return (Math.log(cell[field]) - s.mean) / s.std;
  });
  return [...categoricalFeatures(cell), ...numeric, (Math.log(cell.additiveMs) - t.additive.mean) / t.additive.std];
}

/** block_normal, block_reduction (one-hot block type), reduction_prev and cell_eval, as model inputs. */
export function categoricalFeatures(shape: BatchedCellShape): [number, number, number, number] {
  return [shape.reduction ? 0 : 1, shape.reduction ? 1 : 0, shape.reductionPrev ? 1 : 0, shape.kind === 'eval' ? 1 : 0];
}

/** Model inputs for `rows`, row-major: row i's features are [i * n, (i + 1) * n) with n = featureCount(t). */
export function applyTransforms(t: Transforms, rows: readonly CellFeatures[]): Float32Array {
  const n = featureCount(t);
  const width = t.edges * t.ops.length;
  const out = new Float32Array(rows.length * n);
  rows.forEach((row, i) => {
    if (row.probs.length !== width) throw new Error(`Row ${i} has ${row.probs.length} probabilities; the transforms expect ${width}.`);
    const base = i * n;
    out.set(cellFeatureValues(t, row), base);
    const offset = base + CELL_FEATURES.length;
    for (let j = 0; j < width; j++) {
      out[offset + j] = t.probs.mode === 'raw' ? row.probs[j] : (row.probs[j] - t.probs.mean[j]) / t.probs.std[j];
    }
  });
  return out;
}

/**
 * What a model predicts: `latency` (ln of the latency, standardised) or `residual` (ln of the latency
 * over the additive estimate, standardised; the prediction is the additive estimate times its exp).
 */
export type ModelBase = 'none' | 'additive';

export function msToTarget(t: Transforms, ms: number, base: ModelBase = 'none', additiveMs = 1): number {
  const s = base === 'additive' ? t.residual : t.target;
  return (Math.log(base === 'additive' ? ms / additiveMs : ms) - s.mean) / s.std;
}

export function targetToMs(t: Transforms, target: number, base: ModelBase = 'none', additiveMs = 1): number {
  const s = base === 'additive' ? t.residual : t.target;
  return Math.exp(target * s.std + s.mean) * (base === 'additive' ? additiveMs : 1);
}
