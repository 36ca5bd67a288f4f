import { z } from 'zod';
import { datasetSpecSchema } from '@lenna/data';
import { checkTargetParams, TARGET_PARAMS } from '@lenna/measure-target';

const positiveInt = z.number().int().positive();

/** The timing protocol of the latency numbers (compute's timeForward), and the batch they are taken at. */
const MeasureSchema = z
  .object({
    warmup: z.number().int().min(0).default(3),
    runs: positiveInt.default(20),
    /** The statistic kept: this quantile of the timed runs (0 = the minimum, the statistic dataset-gen's labels rest on). */
    quantile: z.number().min(0).max(1).default(0),
    /** `auto`: CPU time where one thread computes (wasm, cpu), wall time elsewhere and in a browser: as dataset-gen times its cells. */
    clock: z.enum(['auto', 'wall', 'cpu']).default('auto'),
    /** Batch of every timed forward; absent: the batch the latency model was trained on (16 without a model). */
    batch: positiveInt.optional(),
  })
  .strict();

/**
 * Defaults at quickstart scale (MNIST, 1000 images per split, a small network, two epochs); the
 * DARTS paper's CIFAR-10 values are C 36, layers 20, epochs 600, batchSize 96, auxiliary true,
 * dropPath 0.2, cutout 16.
 */
export const RetrainEvalParamsSchema = z
  .object({
    C: positiveInt.default(8),
    /** 5 with C 8 at 28×28: the evaluation-network shapes dataset-gen measures by default, so the predictor is asked about cells it saw. */
    layers: positiveInt.default(5),
    epochs: positiveInt.default(2),
    batchSize: positiveInt.default(32),
    lr: z.number().positive().default(0.025),
    /** Cosine schedule floor (DARTS: 0). */
    lrMin: z.number().min(0).default(0),
    momentum: z.number().min(0).lt(1).default(0.9),
    weightDecay: z.number().min(0).default(3e-4),
    /** Global L2 norm the gradients are clipped to. */
    gradClip: z.number().positive().default(5),
    auxiliary: z.boolean().default(false),
    auxiliaryWeight: z.number().min(0).default(0.4),
    /** Final drop-path probability; it ramps linearly from 0 at epoch 0. */
    dropPath: z.number().min(0).lt(1).default(0),
    /** Cutout square side for cifar10 (default 16, with DARTS's 4-pixel crop and flip); 0 turns cutout off. */
    cutout: z.number().int().min(0).optional(),
    dataset: datasetSpecSchema.default({ name: 'mnist', limit: 1000, seed: 0 }),
    seed: z.number().int().min(0).default(0),
    measure: MeasureSchema.default(MeasureSchema.parse({})),
    /** Ask the latency model about cell shapes it was not trained on (else that is an error naming the shape). */
    allowExtrapolation: z.boolean().default(false),
    /** Where the latencies are timed: this process (`node`) or headless Chromium (`browser`, with `browser.backend`). */
    ...TARGET_PARAMS,
  })
  .strict()
  .superRefine((p, ctx) => checkTargetParams(p, ctx, ['measure', 'clock']));

export type RetrainEvalParams = z.output<typeof RetrainEvalParamsSchema>;
export type MeasureParams = RetrainEvalParams['measure'];
