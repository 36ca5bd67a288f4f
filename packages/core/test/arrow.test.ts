import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatch, Schema, Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError, readArrowFile, requireColumns, tableFromRows, tableToRows, writeArrowFile } from '../src/index.js';

describe('Arrow IO', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenna-arrow-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an IPC file with the format version and extra metadata, and reads it back', async () => {
    const rows = [
      { op: 'sep_conv_3x3', ms: 1.25, count: 3, big: 2n ** 40n, ok: true },
      { op: 'none', ms: 0, count: -1, big: -5n, ok: false },
    ];
    const path = join(dir, 'ops.arrow');
    await writeArrowFile(path, tableFromRows(rows, { count: 'int' }), { backend: 'wasm' });
    // An IPC *file* starts and ends with the ARROW1 magic; the file reader accepts it.
    const bytes = await readFile(path);
    expect(new TextDecoder().decode(bytes.subarray(0, 6))).toBe('ARROW1');
    expect(new TextDecoder().decode(bytes.subarray(bytes.length - 6))).toBe('ARROW1');
    const table = await readArrowFile(path);
    expect(table.schema.metadata.get('backend')).toBe('wasm');
    expect(table.schema.metadata.get('lenna.format_version')).toBe('1');
    expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['op', 'Utf8'], ['ms', 'Float64'], ['count', 'Int32'], ['big', 'Int64'], ['ok', 'Bool'],
    ]);
    expect(tableToRows(table)).toEqual(rows);
  });

  it('keeps nulls and refuses values of the wrong type', () => {
    const table = tableFromRows([{ a: 1, b: 'x' }, { a: null }], { b: 'utf8' });
    expect(tableToRows(table)).toEqual([{ a: 1, b: 'x' }, { a: null, b: null }]);
    expect(() => tableFromRows([{ a: 1 }, { a: 'x' }])).toThrow(/column "a" is float, but a row holds string x/);
    expect(() => tableFromRows([{ a: 1.5 }], { a: 'int' })).toThrow(/column "a" is int/);
  });

  it('requireColumns names the missing or mistyped column and the file', () => {
    const table = tableFromArrays({ x: Float32Array.from([1]), n: Int32Array.from([2]), s: ['a'] });
    expect(() => requireColumns(table, { x: 'float', n: 'int', s: 'utf8' }, 'train.arrow')).not.toThrow();
    expect(() => requireColumns(table, { y: 'float' }, 'train.arrow')).toThrow(UserError);
    expect(() => requireColumns(table, { y: 'float' }, 'train.arrow')).toThrow(/train\.arrow has no column "y" \(float expected\); its columns are: x, n, s/);
    expect(() => requireColumns(table, { n: 'float' }, 'train.arrow')).toThrow(/train\.arrow: column "n" is Int32, but a float column is expected/);
    expect(() => requireColumns(table, { s: 'bool' }, 'train.arrow')).toThrow(/column "s" is Dictionary<Int32, Utf8>, but a bool column/);
  });

  it('refuses unreadable files and newer format versions', async () => {
    const junk = join(dir, 'junk.arrow');
    await writeFile(junk, 'not arrow at all');
    await expect(readArrowFile(junk)).rejects.toThrow(/junk\.arrow is not a readable Arrow IPC file/);
    await expect(readArrowFile(join(dir, 'absent.arrow'))).rejects.toThrow(/cannot read Arrow file/);
    // writeArrowFile always stamps the current version, so a "future" file is written with apache-arrow directly.
    const plain = tableFromRows([{ a: 1 }]);
    const schema = new Schema(plain.schema.fields, new Map([['lenna.format_version', '2']]));
    const future = join(dir, 'future.arrow');
    await writeFile(future, tableToIPC(new Table(schema, plain.batches.map((b) => new RecordBatch(schema, b.data))), 'file'));
    await expect(readArrowFile(future)).rejects.toThrow(/future\.arrow has lenna\.format_version "2", but this LENNA reads only "1"/);
  });
});
