import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { UserError, type ProgressEvent } from '@lenna/core';
import { afterEach, describe, expect, test } from 'vitest';
import { OPS_METADATA_KEY, probColumnNames } from '@lenna/latency-model';
import { generateDataset } from '../src/generate.js';
import { DatasetGenParamsSchema } from '../src/params.js';
import { FAKE_COST, fakeMeasurer } from './fake-measurer.js';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dataset-gen-gen-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const params = DatasetGenParamsSchema.parse({
  shapes: [
    { reduction: false, reductionPrev: false, cPrevPrev: 6, cPrev: 6, c: 2, hw: 8, batch: 2 },
    { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2 },
  ],
  rowsPerShape: 4,
  runs: 2,
  hits: 2,
  lutRuns: 3,
  seed: 11,
});
const MEASURED = ['latency_ms', 'lut_latency_ms', 'resets', 'converged', 'cv'];

function rowsOf(table: Table, skip: string[] = []): Record<string, unknown>[] {
  return table.toArray().map((r) => {
    const row = r.toJSON() as Record<string, unknown>;
    for (const k of skip) delete row[k];
    return row;
  });
}

describe('generateDataset', () => {
  test('columns and types are the documented interface, with the op order in the metadata', async () => {
    const { dataset } = await generateDataset({ params, scratchDir: await scratch(), measurer: fakeMeasurer() });
    const fields = dataset.schema.fields.map((f) => `${f.name}:${String(f.type)}`);
    expect(fields.slice(0, 7)).toEqual([
      'block_type:Utf8', 'reduction_prev:Bool', 'c_prev_prev:Int32', 'c_in:Int32', 'c:Int32', 'hw:Int32', 'batch:Int32',
    ]);
    const probNames = probColumnNames(14, params.ops);
    expect(fields.slice(7, 7 + 112)).toEqual(probNames.map((n) => `${n}:Float32`));
    expect(probNames[0]).toBe('p_e0_none');
    expect(probNames[111]).toBe('p_e13_dil_conv_5x5');
    expect(fields.slice(119, 124)).toEqual(['latency_ms:Float64', 'lut_latency_ms:Float64', 'resets:Int32', 'converged:Bool', 'cv:Float64']);
    expect(JSON.parse(dataset.schema.metadata.get(OPS_METADATA_KEY)!)).toEqual(params.ops);
    expect(dataset.numRows).toBe(8);
    expect(rowsOf(dataset).map((r) => r.block_type)).toEqual([...Array(4).fill('normal'), ...Array(4).fill('reduction')]);
  });

  test('the probabilities written are exactly the ones the measured cells were sampled from', async () => {
    const measurer = fakeMeasurer();
    const { dataset, rows } = await generateDataset({ params, scratchDir: await scratch(), measurer });
    expect(measurer.calls).toHaveLength(8);
    measurer.calls.forEach((call, i) =>
      expect(call.protocol).toEqual({ runs: 2, quantile: 0.4, threshold: 0.05, hits: 2, maxResets: 50, warmup: 1, seed: rows[i].plan.seed }),
    );
    const names = probColumnNames(14, params.ops);
    rowsOf(dataset).forEach((row, i) => {
      const written = names.map((n) => row[n]);
      expect(written).toEqual(measurer.calls[i].probs.flat().map(Math.fround));
      expect(row.c).toBe(measurer.calls[i].shape.c);
    });
  });

  test('a one-hot row estimate is the sum of its ops and preprocessing in the op-lut', async () => {
    const { rows, opLut } = await generateDataset({ params, scratchDir: await scratch(), measurer: fakeMeasurer() });
    const lut = rowsOf(opLut);
    const oneHot = rows.filter((r) => r.plan.oneHot);
    expect(oneHot.length).toBe(2);
    for (const row of oneHot) {
      const chosen = row.plan.probs.map((p) => params.ops[p.indexOf(1)]);
      const pre = lut.filter((l) => l.op === 'preprocess_relu_conv_bn' && l.c === row.shape.c && l.hw === row.shape.hw);
      expect(pre.length).toBeGreaterThan(0);
      // FAKE timings are cost·(1, 1.01, 1.02): the 0.4-quantile is cost·1.008.
      const expected = (chosen.reduce((s, op) => s + FAKE_COST[op], 0) + 2 * FAKE_COST.preprocess_relu_conv_bn) * 1.008;
      expect(row.lutLatencyMs).toBeCloseTo(expected, 9);
    }
  });

  test('an interrupted run resumes from the next row and ends with the same table', async () => {
    const wholeMeasurer = fakeMeasurer();
    const whole = await generateDataset({ params, scratchDir: await scratch(), measurer: wholeMeasurer });
    // Each op site is timed twice: an untimed warm-up pass, then the timed one.
    expect(wholeMeasurer.opCalls).toHaveLength(2 * whole.lut.length);

    const dir = await scratch();
    const abort = new AbortController();
    const first = fakeMeasurer(0);
    await expect(
      generateDataset({ params, scratchDir: dir, measurer: first, signal: abort.signal, onRow: (_r, done) => done === 3 && abort.abort() }),
    ).rejects.toThrow(/interrupted; 3 of 8 rows are kept/);
    const second = fakeMeasurer(1000);
    const resumed = await generateDataset({ params, scratchDir: dir, measurer: second });

    expect(resumed.resumedRows).toBe(3);
    expect(second.calls).toHaveLength(5);
    expect(second.opCalls).toHaveLength(0); // the lut was reused
    expect(rowsOf(resumed.dataset, MEASURED)).toEqual(rowsOf(whole.dataset, MEASURED));
    const latencies = rowsOf(resumed.dataset).map((r) => r.latency_ms as number);
    expect(latencies.slice(0, 3).every((l) => l < 1000)).toBe(true);
    expect(latencies.slice(3).every((l) => l >= 1000)).toBe(true);
  });

  test('progress counts rows with a time estimate; every timing and warm-up runs under the lock', async () => {
    const events: ProgressEvent[] = [];
    let locks = 0;
    let inside = false;
    const measurer = fakeMeasurer();
    const warmed: number[] = [];
    const guarded = {
      warmUp: async (shape: { c: number }) => (expect(inside).toBe(true), warmed.push(shape.c), undefined),
      timeOp: (...a: Parameters<typeof measurer.timeOp>) => (expect(inside).toBe(true), measurer.timeOp(...a)),
      measureCell: (...a: Parameters<typeof measurer.measureCell>) => (expect(inside).toBe(true), measurer.measureCell(...a)),
    };
    const exclusive = async <T>(fn: () => Promise<T>) => {
      locks++;
      inside = true;
      try {
        return await fn();
      } finally {
        inside = false;
      }
    };
    await generateDataset({ params, scratchDir: await scratch(), measurer: guarded, exclusive, progress: (e) => events.push(e) });
    const rowEvents = events.filter((e) => e.label?.startsWith('rows'));
    expect(rowEvents.map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rowEvents.every((e) => e.total === 8 && /^rows \d+\/8, ~\d+(s|m|h\d+m) left$/.test(e.label!))).toBe(true);
    expect(events.some((e) => e.label?.startsWith('op lut'))).toBe(true);
    expect(locks).toBe(9); // one for the lut, one per row
    expect(warmed).toEqual([2, 4]); // once per shape, before its first row
  });

  test('one-hot rows without none in the op set are a user error naming the params', async () => {
    const bad = DatasetGenParamsSchema.parse({ ...params, ops: ['skip_connect', 'sep_conv_3x3'] });
    const failure = generateDataset({ params: bad, scratchDir: await scratch(), measurer: fakeMeasurer() });
    await expect(failure).rejects.toThrow(/lack 'none'.*oneHotFraction/);
    await expect(failure).rejects.toBeInstanceOf(UserError);
    const ok = DatasetGenParamsSchema.parse({ ...params, ops: ['skip_connect', 'sep_conv_3x3'], oneHotFraction: 0 });
    const { dataset } = await generateDataset({ params: ok, scratchDir: await scratch(), measurer: fakeMeasurer() });
    expect(dataset.schema.fields.filter((f) => f.name.startsWith('p_'))).toHaveLength(28);
  });

  test('explicit shapes a factorized reduce cannot run are a user error naming the shape', async () => {
    const odd = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 6, c: 3, hw: 8, batch: 2 };
    const badC = DatasetGenParamsSchema.parse({ ...params, shapes: [params.shapes![0], odd] });
    await expect(generateDataset({ params: badC, scratchDir: await scratch(), measurer: fakeMeasurer() })).rejects.toThrow(/shapes\[1\] has c 3/);
    const badHw = DatasetGenParamsSchema.parse({ ...params, shapes: [{ ...odd, c: 4, hw: 7 }] });
    await expect(generateDataset({ params: badHw, scratchDir: await scratch(), measurer: fakeMeasurer() })).rejects.toThrow(/odd hw 7/);
  });
});
