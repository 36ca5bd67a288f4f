import { describe, expect, test } from 'vitest';
import { DatasetGenParamsSchema } from '../src/params.js';
import { dedupeShapes, edgeSites, networkCellShapes, plannedShapes, preprocessSites } from '../src/shapes.js';

describe('cell shapes', () => {
  test('a 5-cell network (C 4, 28×28) has the shapes the DARTS code builds, worked out by hand', () => {
    const shapes = networkCellShapes({ C: 4, layers: 5, hw: 28, batch: 2 }, 4);
    expect(shapes.map((s) => [s.reduction, s.reductionPrev, s.cPrevPrev, s.cPrev, s.c, s.hw])).toEqual([
      [false, false, 12, 12, 4, 28],
      [true, false, 12, 16, 8, 28],
      [false, true, 16, 32, 8, 14],
      [true, false, 32, 32, 16, 14],
      [false, true, 32, 64, 16, 7],
    ]);
  });

  test('equal shapes share rows: duplicates are dropped, order kept', () => {
    const a = networkCellShapes({ C: 4, layers: 5, hw: 28, batch: 2 }, 4);
    expect(dedupeShapes([...a, ...a])).toEqual(a);
    const params = DatasetGenParamsSchema.parse({ search: { C: 4, layers: 5, batch: 2 }, eval: { C: 4, layers: 5, batch: 2 } });
    expect(plannedShapes(params)).toHaveLength(5);
    const other = DatasetGenParamsSchema.parse({ search: { C: 4, layers: 5, batch: 2 }, eval: { C: 4, layers: 8, batch: 2 } });
    expect(plannedShapes(other).length).toBeGreaterThan(5);
  });

  test('an explicit shapes list overrides the networks', () => {
    const shape = { reduction: false, reductionPrev: false, cPrevPrev: 2, cPrev: 2, c: 2, hw: 4, batch: 2 };
    const params = DatasetGenParamsSchema.parse({ shapes: [shape, shape] });
    expect(plannedShapes(params)).toEqual([shape]);
  });

  test('edges: 2+i per node, 14 for 4 nodes; reduction cells stride 2 only on edges from the inputs', () => {
    const red = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2 };
    const sites = edgeSites(red, 2);
    expect(sites).toEqual([
      { stride: 2, hw: 8 }, { stride: 2, hw: 8 },
      { stride: 2, hw: 8 }, { stride: 2, hw: 8 }, { stride: 1, hw: 4 },
    ]);
    expect(edgeSites({ ...red, reduction: false }, 2).every((s) => s.stride === 1 && s.hw === 8)).toBe(true);
  });

  test('preprocessing: factorized reduce of s0 at twice the size after a reduction cell', () => {
    const shape = { reduction: false, reductionPrev: true, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2 };
    expect(preprocessSites(shape)).toEqual([
      { op: 'preprocess_factorized_reduce', stride: 2, cIn: 6, c: 4, hw: 16, batch: 2 },
      { op: 'preprocess_relu_conv_bn', stride: 1, cIn: 8, c: 4, hw: 8, batch: 2 },
    ]);
    expect(preprocessSites({ ...shape, reductionPrev: false })[0]).toEqual(
      { op: 'preprocess_relu_conv_bn', stride: 1, cIn: 6, c: 4, hw: 8, batch: 2 },
    );
  });
});
