import { z } from 'zod';
import { DARTS_OPS } from '@lenna/nn';

export const randomCellParams = z
  .object({
    /** The stream's seed; cells 0, 1, 2, … of one seed are its successive draws. */
    seed: z.number().int().min(0).default(0),
    /** Which draw of the stream this instance writes, so a pipeline can sweep `matrix: { index: [0, …, 11] }`. */
    index: z.number().int().min(0).default(0),
    nodes: z.number().int().positive().default(4),
    ops: z
      .array(z.enum(DARTS_OPS))
      .min(1)
      .default([...DARTS_OPS])
      .refine((ops) => new Set(ops).size === ops.length, { message: 'ops must not repeat an op' })
      .refine((ops) => ops.some((op) => op !== 'none'), { message: 'ops needs an op other than none' }),
  })
  .strict();

export type RandomCellParams = z.output<typeof randomCellParams>;
