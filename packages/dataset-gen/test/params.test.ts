import { describe, expect, test } from 'vitest';
import { DatasetGenParamsSchema } from '../src/params.js';
import { plannedShapes } from '../src/shapes.js';

describe('params', () => {
  test('defaults describe a quickstart-sized run: all 8 ops, 4 nodes, LENNA radii, fast protocol', () => {
    const p = DatasetGenParamsSchema.parse({});
    expect(p.ops).toHaveLength(8);
    expect(p.nodes).toBe(4);
    expect(p.radii).toEqual([0.01, 0.05, 0.1, 1, 5, 10]);
    expect(p.runs).toBeLessThan(20);
    expect(p.maxResets).toBeLessThan(1000);
    expect(p).toMatchObject({ protocol: 'control-variate', seTarget: 0.02, reference: true, clock: 'auto', evalOneHotFraction: 1 });
    expect(plannedShapes(p).length * p.rowsPerShape).toBeLessThanOrEqual(400);
  });

  test('LENNA’s rule is a protocol option; minResets above maxResets is refused', () => {
    expect(DatasetGenParamsSchema.parse({ protocol: 'lenna' }).protocol).toBe('lenna');
    expect(DatasetGenParamsSchema.safeParse({ protocol: 'guess' }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ minResets: 8, maxResets: 4 }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ minResets: 1 }).success).toBe(false);
  });

  test('unknown keys, repeated ops and unknown ops are rejected', () => {
    expect(DatasetGenParamsSchema.safeParse({ rows: 3 }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ search: { C: 4, depth: 3 } }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ ops: ['none', 'none'] }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ ops: ['conv_7x7'] }).success).toBe(false);
    expect(DatasetGenParamsSchema.safeParse({ oneHotFraction: 1.5 }).success).toBe(false);
  });

  test('target: node by default; browser names its backend, and a browser block without target browser is an error', () => {
    expect(DatasetGenParamsSchema.parse({})).toMatchObject({ target: 'node' });
    expect(DatasetGenParamsSchema.parse({}).browser).toBeUndefined();
    expect(DatasetGenParamsSchema.parse({ target: 'browser', browser: {} })).toMatchObject({ target: 'browser', browser: { backend: 'wasm' } });
    const wrong = DatasetGenParamsSchema.safeParse({ browser: { backend: 'webgl' } });
    expect(wrong.error?.issues.map((i) => i.path.join('.'))).toEqual(['browser']);
    // A page has no CPU-time clock: cpu is refused in the browser, auto and wall are wall time there.
    const cpu = DatasetGenParamsSchema.safeParse({ target: 'browser', clock: 'cpu' });
    expect(cpu.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['clock: is cpu, but a browser page has no CPU-time clock; use wall or auto (wall time in the browser), or target: node']);
    expect(DatasetGenParamsSchema.safeParse({ target: 'browser', clock: 'wall' }).success).toBe(true);
    expect(DatasetGenParamsSchema.safeParse({ target: 'node', clock: 'cpu' }).success).toBe(true);
  });
});
