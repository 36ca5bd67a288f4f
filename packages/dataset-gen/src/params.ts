import { z } from 'zod';
import { cellShapeSchema } from '@lenna/latency-model';
import { checkTargetParams, TARGET_PARAMS } from '@lenna/measure-target';
import { DARTS_OP_NAMES } from './ops.js';

/**
 * Protocol defaults sized for the quickstart (a whole pipeline in minutes on 2 cores).
 * LENNA's own values are runs 20, quantile 0.4, threshold 0.01, hits 15, maxResets 1000
 * (`LENNA_PROTOCOL` in @lenna/compute); set them here for a paper-grade data set.
 */
export const QUICK_PROTOCOL = { runs: 3, quantile: 0.4, threshold: 0.05, hits: 3, maxResets: 50, warmup: 1 } as const;

/** LENNA's radii: α ~ U[-r, r] with r drawn per row from this list. */
export const LENNA_RADII = [0.01, 0.05, 0.1, 1, 5, 10];

const positiveInt = z.number().int().positive();

const SearchNetworkSchema = z
  .object({
    C: positiveInt.default(4),
    layers: positiveInt.default(5),
    hw: positiveInt.default(28),
    channelsIn: positiveInt.default(1),
    batch: positiveInt.default(8),
  })
  .strict();

const EvalNetworkSchema = z
  .object({
    C: positiveInt.default(8),
    layers: positiveInt.default(5),
    hw: positiveInt.default(28),
    batch: positiveInt.default(8),
  })
  .strict();

export const DatasetGenParamsSchema = z
  .object({
    ops: z
      .array(z.enum(DARTS_OP_NAMES))
      .min(1)
      .default([...DARTS_OP_NAMES])
      .refine((ops) => new Set(ops).size === ops.length, { message: 'ops must not repeat an op' }),
    nodes: positiveInt.default(4),
    search: SearchNetworkSchema.default(SearchNetworkSchema.parse({})),
    eval: EvalNetworkSchema.default(EvalNetworkSchema.parse({})),
    /** When given, exactly these shapes are measured and `search`/`eval` are ignored. */
    shapes: z.array(cellShapeSchema).min(1).optional(),
    rowsPerShape: positiveInt.default(20),
    oneHotFraction: z.number().min(0).max(1).default(0.25),
    radii: z.array(z.number().positive()).min(1).default(LENNA_RADII),
    runs: positiveInt.default(QUICK_PROTOCOL.runs),
    quantile: z.number().min(0).max(1).default(QUICK_PROTOCOL.quantile),
    threshold: z.number().positive().default(QUICK_PROTOCOL.threshold),
    hits: positiveInt.default(QUICK_PROTOCOL.hits),
    maxResets: positiveInt.default(QUICK_PROTOCOL.maxResets),
    warmup: z.number().int().min(0).default(QUICK_PROTOCOL.warmup),
    seed: z.number().int().min(0).default(0),
    /** Timed runs per op of the op lookup table (after `warmup` runs). */
    lutRuns: positiveInt.default(10),
    /** Where cells are timed: this process (`node`) or headless Chromium (`browser`, with `browser.backend`). */
    ...TARGET_PARAMS,
  })
  .strict()
  .superRefine(checkTargetParams);

export type DatasetGenParams = z.output<typeof DatasetGenParamsSchema>;
