import { z } from 'zod';

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** `<stage>.<output>`, or `<stage>.<output>[*]` to gather every instance of a sweep. */
export const needPattern = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)(\[\*\])?$/;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const needText = z.string().regex(needPattern, 'write a need as <stage>.<output> or <stage>.<output>[*]');

/** SLURM's --time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]]. */
const slurmTime = /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2})$/;

/** What a stage asks of a cluster node (the SLURM executor turns it into sbatch options; the local one ignores it). */
export const resourcesSchema = z
  .object({
    gpus: z.number().int().positive('give gpus as a whole number, e.g. gpus: 1').optional(),
    cpus: z.number().int().positive('give cpus as a whole number, e.g. cpus: 4').optional(),
    /** A number is megabytes, as SLURM reads it; or a size with a unit: 512M, 16G. */
    mem: z.union([z.number().int().positive(), z.string().regex(/^\d+[KMGT]?$/i, 'write mem as a size such as 16G or 512M')]).optional(),
    /** A number is minutes, as SLURM reads it; or "4:00:00", "1-00:00:00". */
    time: z.union([z.number().int().positive(), z.string().regex(slurmTime, 'write time as SLURM does: minutes, "4:00:00" or "1-12:00:00"')]).optional(),
  })
  .strict();

export type Resources = z.infer<typeof resourcesSchema>;

export const stageEntrySchema = z
  .object({
    uses: z.string().min(1, 'name the stage package (e.g. darts-search) or a ./relative/path.js'),
    /** One need per input; a gathering input may list several `<stage>.<output>[*]`, gathered in that order. */
    needs: z.record(z.string(), z.union([needText, z.array(needText).min(1, 'list at least one <stage>.<output>[*]')])).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    matrix: z.record(z.string(), z.array(scalar).min(1, 'give a matrix param at least one value')).optional(),
    /** Seconds the stage may run (paused time not counted) before it fails with "timed out after N s". */
    timeout: z.number().positive('give the timeout in seconds, e.g. timeout: 3600').finite().optional(),
    resources: resourcesSchema.optional(),
  })
  .strict();

export const pipelineFileSchema = z
  .object({
    name: z.string().min(1),
    params: z.record(z.string(), z.unknown()).optional(),
    stages: z.record(z.string().regex(idPattern, 'stage ids use letters, digits, - and _'), stageEntrySchema),
  })
  .strict();

export type PipelineFile = z.infer<typeof pipelineFileSchema>;
