import { describe, expect, it } from 'vitest';
import { UserError } from '@lenna/core';
import { parseProbColumns, probColumnName } from '../src/columns.js';

const columns = (edges: number, ops: string[]) =>
  Array.from({ length: edges }, (_, e) => ops.map((op) => probColumnName(e, op))).flat();

describe('parseProbColumns', () => {
  it('finds edges and orders ops the DARTS way whatever the column order', () => {
    const names = ['block_type', ...columns(3, ['skip_connect', 'none', 'sep_conv_3x3']).reverse(), 'latency_ms'];
    expect(parseProbColumns(names, 't.arrow')).toEqual({ ops: ['none', 'skip_connect', 'sep_conv_3x3'], edges: 3 });
  });

  it('rejects an edge that lacks one of the ops', () => {
    const names = columns(2, ['none', 'max_pool_3x3']).filter((n) => n !== 'p_e1_max_pool_3x3');
    expect(() => parseProbColumns(names, 't.arrow')).toThrow(UserError);
  });

  it('rejects a gap in the edge numbering and unknown ops', () => {
    expect(() => parseProbColumns(['p_e0_none', 'p_e2_none'], 't.arrow')).toThrow(/edge 1/);
    expect(() => parseProbColumns(['p_e0_conv_7x7'], 't.arrow')).toThrow(/conv_7x7/);
    expect(() => parseProbColumns(['latency_ms'], 't.arrow')).toThrow(/no probability columns/);
  });
});
