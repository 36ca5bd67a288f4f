import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadCalibration, RowLog, ROWS_LOG, saveCalibration } from '../src/resume.js';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dataset-gen-resume-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const row = (index: number) => ({ index, latencyMs: index + 0.5, seMs: 0.01, referenceMs: 2, resets: 3, converged: true, cv: 0.1 });

describe('row log', () => {
  test('rows appended before a crash are there when the log is opened again', async () => {
    const dir = await scratch();
    const log = await RowLog.open(dir, 'plan-a');
    await log.append(row(0));
    await log.append(row(1));
    await log.close();
    const again = await RowLog.open(dir, 'plan-a');
    expect([...again.rows.values()]).toEqual([row(0), row(1)]);
    await again.append(row(2));
    await again.close();
    expect((await RowLog.open(dir, 'plan-a')).rows.size).toBe(3);
  });

  test('a torn last line is dropped and the next row still lands on its own line', async () => {
    const dir = await scratch();
    const log = await RowLog.open(dir, 'plan-a');
    await log.append(row(0));
    await log.close();
    await appendFile(join(dir, ROWS_LOG), '{"index":1,"latenc');
    const again = await RowLog.open(dir, 'plan-a');
    expect([...again.rows.keys()]).toEqual([0]);
    await again.append(row(1));
    await again.close();
    expect([...(await RowLog.open(dir, 'plan-a')).rows.keys()]).toEqual([0, 1]);
  });

  test('rows of another plan are discarded, not mixed in', async () => {
    const dir = await scratch();
    const log = await RowLog.open(dir, 'plan-a');
    await log.append(row(0));
    await log.close();
    const other = await RowLog.open(dir, 'plan-b');
    expect(other.rows.size).toBe(0);
    await other.close();
    expect((await readFile(join(dir, ROWS_LOG), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  test('the calibration (op table and references) round-trips and belongs to one plan', async () => {
    const dir = await scratch();
    const calibration = {
      lut: [{ op: 'skip_connect', stride: 1, cIn: 2, c: 2, hw: 4, batch: 2, kind: 'search' as const, samplesMs: [1, 2] }],
      references: { 'normal|false|2|2|2|4|2|search': { choice: [1, 0, 3, 2, 1], ms: 1.5 } },
    };
    await saveCalibration(dir, 'plan-a', calibration);
    expect(await loadCalibration(dir, 'plan-a')).toEqual(calibration);
    expect(await loadCalibration(dir, 'plan-b')).toBeUndefined();
    expect(await loadCalibration(await scratch(), 'plan-a')).toBeUndefined();
  });
});
