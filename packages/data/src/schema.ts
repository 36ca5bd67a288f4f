import { z } from 'zod';
import type { DatasetName } from './types.js';

/** A zod schema for `DatasetSpec`, for stages that take a data set among their params. */
export const datasetSpecSchema = z
  .object({
    name: z.enum(['mnist', 'cifar10', 'fashion-mnist', 'synthetic'] satisfies DatasetName[]),
    path: z.string().min(1).optional(),
    limit: z.number().int().positive().optional(),
    resize: z.number().int().positive().optional(),
    seed: z.number().int().default(0),
    valFraction: z.number().min(0).lt(1).optional(),
    testFraction: z.number().min(0).lt(1).optional(),
    synthetic: z
      .object({
        count: z.number().int().positive().optional(),
        hw: z.number().int().positive().optional(),
        channels: z.number().int().positive().optional(),
        classes: z.number().int().min(2).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
