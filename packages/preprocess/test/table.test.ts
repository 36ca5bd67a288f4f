import { describe, expect, it } from 'vitest';
import { Schema, Table, tableFromArrays } from 'apache-arrow';
import { takeRows } from '../src/table.js';

describe('takeRows', () => {
  it('keeps column types (dictionary strings included), order of indices and schema metadata', () => {
    const plain = tableFromArrays({ block_type: ['normal', 'reduction', 'normal'], x: new Float32Array([1, 2, 3]) });
    const table = new Table(new Schema(plain.schema.fields, new Map([['lenna.ops', '["none"]']])), plain.batches);
    const taken = takeRows(table, [2, 1]);
    expect(taken.schema.fields.map((f) => String(f.type))).toEqual(table.schema.fields.map((f) => String(f.type)));
    expect(taken.toArray().map((r) => r.toJSON())).toEqual([{ block_type: 'normal', x: 3 }, { block_type: 'reduction', x: 2 }]);
    expect(taken.schema.metadata.get('lenna.ops')).toBe('["none"]');
  });
});
