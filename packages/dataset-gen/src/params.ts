import { z } from 'zod';
import { cellShapeSchema } from '@lenna/latency-model';
import { checkTargetParams, TARGET_PARAMS } from '@lenna/measure-target';
import { DARTS_OP_NAMES } from './ops.js';

/**
 * Protocol defaults sized for the quickstart (a whole pipeline in minutes on 2 cores): the
 * control-variate estimate, stopped at a 2% standard error, each timing against the shape's reference
 * cell, each visit the minimum of 3 runs after one warm-up run. LENNA's own values (`LENNA_PROTOCOL`
 * in @lenna/compute: rule lenna, runs 20, quantile 0.4, threshold 0.01, hits 15, maxResets 1000)
 * are `protocol: lenna` with those numbers, for the paper's ablation.
 */
export const QUICK_PROTOCOL = {
  protocol: 'control-variate',
  seTarget: 0.02,
  minResets: 3,
  maxResets: 20,
  runs: 3,
  quantile: 0,
  warmup: 1,
  threshold: 0.05,
  hits: 3,
} as const;

/** LENNA's radii: α ~ U[-r, r] with r drawn per row from this list. */
export const LENNA_RADII = [0.01, 0.05, 0.1, 1, 5, 10];

const positiveInt = z.number().int().positive();

/** darts-search's defaults (C 4, 3 cells, 16×16 MNIST, batch 16): the network it searches unless told otherwise. */
const SearchNetworkSchema = z
  .object({
    C: positiveInt.default(4),
    layers: positiveInt.default(3),
    hw: positiveInt.default(16),
    channelsIn: positiveInt.default(1),
    batch: positiveInt.default(16),
  })
  .strict();

/** retrain-eval's defaults (C 8, 5 cells, 28×28 MNIST, timed at batch 16): the network it retrains unless told otherwise. */
const EvalNetworkSchema = z
  .object({
    C: positiveInt.default(8),
    layers: positiveInt.default(5),
    hw: positiveInt.default(28),
    batch: positiveInt.default(16),
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
    /** When given, exactly these shapes are measured (each built as its `kind` says) and `search`/`eval` are ignored. */
    shapes: z.array(cellShapeSchema).min(1).optional(),
    rowsPerShape: positiveInt.default(20),
    /** Share of a search shape's rows that are discrete cells (the rest are soft α draws). */
    oneHotFraction: z.number().min(0).max(1).default(0.25),
    /** The same for eval shapes: retrain-eval asks about discrete (genotype) cells only. */
    evalOneHotFraction: z.number().min(0).max(1).default(1),
    radii: z.array(z.number().positive()).min(1).default(LENNA_RADII),
    /** `control-variate`: stop on the standard error; `lenna`: LENNA's rule (the mean settled for `hits` resets). */
    protocol: z.enum(['control-variate', 'lenna']).default(QUICK_PROTOCOL.protocol),
    seTarget: z.number().positive().default(QUICK_PROTOCOL.seTarget),
    minResets: z.number().int().min(2).default(QUICK_PROTOCOL.minResets),
    maxResets: positiveInt.default(QUICK_PROTOCOL.maxResets),
    threshold: z.number().positive().default(QUICK_PROTOCOL.threshold),
    hits: positiveInt.default(QUICK_PROTOCOL.hits),
    /** Timed runs of each visit to a cell, after `warmup` untimed ones; the visit's latency is their `quantile`. */
    runs: positiveInt.default(QUICK_PROTOCOL.runs),
    quantile: z.number().min(0).max(1).default(QUICK_PROTOCOL.quantile),
    warmup: z.number().int().min(0).default(QUICK_PROTOCOL.warmup),
    /** Time each sampled cell against the shape's reference cell (drift cancels in the ratio). */
    reference: z.boolean().default(true),
    /** Visits to each reference cell whose `quantile` is its latency, before the rows. */
    referenceVisits: positiveInt.default(8),
    /** `auto`: CPU time where one thread computes (wasm, cpu), wall time elsewhere (compute's clockFor); in a browser, wall time (`cpu` is refused there). */
    clock: z.enum(['auto', 'wall', 'cpu']).default('auto'),
    seed: z.number().int().min(0).default(0),
    /** Timed runs per op of the op lookup table (after `warmup` runs). */
    lutRuns: positiveInt.default(10),
    /** Where cells are timed: this process (`node`) or headless Chromium (`browser`, with `browser.backend`). */
    ...TARGET_PARAMS,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.minResets > p.maxResets) ctx.addIssue({ code: 'custom', path: ['minResets'], message: `is ${p.minResets}, above maxResets ${p.maxResets}; use at most maxResets` });
    checkTargetParams(p, ctx);
  });

export type DatasetGenParams = z.output<typeof DatasetGenParamsSchema>;
