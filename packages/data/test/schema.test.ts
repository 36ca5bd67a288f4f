import { describe, expect, it } from 'vitest';
import { datasetSpecSchema } from '../src/schema.js';
import type { DatasetSpec } from '../src/types.js';

describe('datasetSpecSchema', () => {
  it('accepts a spec, fills the seed, and yields a DatasetSpec', () => {
    const spec: DatasetSpec = datasetSpecSchema.parse({ name: 'synthetic', synthetic: { hw: 4 } });
    expect(spec).toEqual({ name: 'synthetic', seed: 0, synthetic: { hw: 4 } });
  });

  it('rejects unknown names, keys and out-of-range fractions', () => {
    expect(datasetSpecSchema.safeParse({ name: 'imagenet' }).success).toBe(false);
    expect(datasetSpecSchema.safeParse({ name: 'mnist', colour: true }).success).toBe(false);
    expect(datasetSpecSchema.safeParse({ name: 'mnist', valFraction: 1 }).success).toBe(false);
  });
});
