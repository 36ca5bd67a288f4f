import { z } from 'zod';
import { datasetSpecSchema } from '@lenna/data';
import { DARTS_OPS, isOpName, type OpName } from '@lenna/nn';

const positiveInt = z.number().int().positive();

/** The image data set: @lenna/data's spec (its `resize` lets a quickstart search on 16×16 MNIST). */
export const searchDatasetSchema = datasetSpecSchema.extend({
  limit: positiveInt.default(512),
});

const opNameSchema = z.string().refine(isOpName, { message: `must be one of ${DARTS_OPS.join(', ')}` });

/**
 * Defaults are the official DARTS search values for the optimisers; the network, data and epoch
 * count are sized so the quickstart search takes a minute or two on two CPU cores (wasm).
 */
export const dartsSearchParams = z
  .object({
    lambda: z.number().min(0).default(0),
    latencyLoss: z.enum(['additive', 'multiplicative', 'target']).default('additive'),
    /** Exponent of the multiplicative latency factor (log E[lat] / log L_ref)^beta. */
    beta: z.number().positive().default(0.6),
    /** Batch size the latency model is asked about; default: the one its training data was measured at. */
    latencyBatch: positiveInt.optional(),
    /** Ask the latency model about cell shapes it was not trained on (else that is an error naming the shape). */
    allowExtrapolation: z.boolean().default(false),
    epochs: positiveInt.default(4),
    warmupEpochs: z.number().int().min(0).default(0),
    order: z.enum(['first', 'second']).default('first'),
    lr: z.number().positive().default(0.025),
    lrMin: z.number().min(0).default(0.001),
    momentum: z.number().min(0).lt(1).default(0.9),
    weightDecay: z.number().min(0).default(3e-4),
    gradClip: z.number().positive().default(5),
    archLr: z.number().positive().default(3e-4),
    archBetas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.5, 0.999]),
    archWeightDecay: z.number().min(0).default(1e-3),
    C: positiveInt.default(4),
    layers: positiveInt.default(3),
    nodes: positiveInt.default(4),
    ops: z
      .array(opNameSchema)
      .min(1)
      .default([...DARTS_OPS])
      .refine((ops) => new Set(ops).size === ops.length, { message: 'ops must not repeat an op' }),
    batchSize: positiveInt.default(16),
    seed: z.number().int().min(0).default(0),
    dataset: searchDatasetSchema.default({ name: 'mnist', limit: 512, seed: 0, resize: 16 }),
    trainPortion: z.number().gt(0).lt(1).default(0.5),
    /** Caps the iterations of an epoch (one α step and one weight step each); null: a full pass over the weight half. */
    stepsPerEpoch: positiveInt.nullable().default(8),
    /** P-DARTS's limit on skip_connect edges in the derived normal cell; null: the official derivation, no limit. */
    maxSkips: z.number().int().min(0).nullable().default(2),
    /** T of `latencyLoss: target`, in ms: what E[lat] (over the cells of `latencyNetwork`) should come to. */
    targetMs: z.number().positive().optional(),
    /** The network whose cells E[lat] sums over, at the search's image size; null: the search network. */
    latencyNetwork: z.object({ C: positiveInt, layers: positiveInt }).strict().nullable().default(null),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.warmupEpochs >= p.epochs && p.lambda > 0) {
      ctx.addIssue({ code: 'custom', path: ['warmupEpochs'], message: `is ${p.warmupEpochs}, so α never moves in ${p.epochs} epochs; use fewer than epochs` });
    }
    if (p.lrMin > p.lr) ctx.addIssue({ code: 'custom', path: ['lrMin'], message: `is ${p.lrMin}, above lr ${p.lr}; use a value at most lr` });
    if (p.maxSkips !== null && p.ops.includes('skip_connect') && p.ops.every((op) => op === 'none' || op === 'skip_connect')) {
      ctx.addIssue({ code: 'custom', path: ['maxSkips'], message: `is ${p.maxSkips}, but ops has no op other than none and skip_connect to take a skip's place; add one or set maxSkips to null` });
    }
    checkTarget(p, ctx);
  });

/** `latencyLoss: target` needs its T and a λ that switches the term on; T alone would be ignored. */
function checkTarget(p: { latencyLoss: string; targetMs?: number; lambda: number }, ctx: z.RefinementCtx): void {
  if (p.latencyLoss === 'target' && p.targetMs === undefined) {
    ctx.addIssue({ code: 'custom', path: ['targetMs'], message: 'is missing: latencyLoss target needs the target latency in ms (e.g. targetMs: 5)' });
  }
  if (p.latencyLoss === 'target' && p.lambda === 0) {
    ctx.addIssue({ code: 'custom', path: ['lambda'], message: 'is 0, so latencyLoss target would not act; give lambda > 0 (e.g. 1)' });
  }
  if (p.latencyLoss !== 'target' && p.targetMs !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['targetMs'], message: `is ${p.targetMs}, but latencyLoss is ${p.latencyLoss}; set latencyLoss: target or remove targetMs` });
  }
}

export type DartsSearchParams = z.output<typeof dartsSearchParams>;
export type SearchOps = OpName[];
