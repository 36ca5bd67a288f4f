import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowFile, runStageInProcess, tableFromRows, tableToRows, writeArrowFile } from '@lenna/core';
import { quantile, stage, type Summary } from '../src/stage.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const lennaBin = join(repoRoot, 'packages/runner/bin/lenna.js');
const temps: string[] = [];
afterAll(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lenna-example-'));
  temps.push(dir);
  return dir;
}

async function tableFolder(values: number[], column = 'value'): Promise<string> {
  const dir = await tempDir();
  await writeArrowFile(join(dir, 'table.arrow'), tableFromRows(values.map((v) => ({ [column]: v })), { [column]: 'float' }));
  return dir;
}

describe('column-summary on its own (runStageInProcess, as a unit test of a stage)', () => {
  it('summarises a column: hand-computed count, mean, sample std, extremes and quantiles', async () => {
    const out = await tempDir();
    await runStageInProcess(stage, { params: { quantiles: [0, 0.5, 0.75, 1] }, inputs: { table: await tableFolder([4, 1, 3, 2]) }, stagingDir: out });
    const summary = JSON.parse(await readFile(join(out, 'summary', 'summary.json'), 'utf8')) as Summary;
    // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n − 1 = 3.
    expect(summary).toMatchObject({ column: 'value', count: 4, mean: 2.5, min: 1, max: 4 });
    expect(summary.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    // Ranks 0..3: q 0.5 sits halfway between 2 and 3, q 0.75 a quarter of the way from 3 to 4.
    expect(summary.quantiles).toEqual([{ q: 0, value: 1 }, { q: 0.5, value: 2.5 }, { q: 0.75, value: 3.25 }, { q: 1, value: 4 }]);
    expect(tableToRows(await readArrowFile(join(out, 'quantiles', 'quantiles.arrow')))).toEqual(summary.quantiles);
  });

  it('interpolates quantiles between ranks, and a single value is its own quantile', () => {
    expect(quantile([10, 20, 30], 0.25)).toBe(15);
    expect(quantile([7], 0.9)).toBe(7);
  });

  it('rejects a missing column and an unknown param as the user\'s mistakes, naming them', async () => {
    const input = { table: await tableFolder([1, 2], 'x') };
    await expect(runStageInProcess(stage, { params: {}, inputs: input, stagingDir: await tempDir() })).rejects.toThrow(/has no column "value" \(float expected\); its columns are: x/);
    await expect(runStageInProcess(stage, { params: { colum: 'x' }, inputs: input, stagingDir: await tempDir() })).rejects.toThrow(/unknown param "colum"/);
  });
});

/** `lenna <args>` in `cwd`, as a user types it; never throws, so a test can look at a failure. */
async function lenna(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [lennaBin, ...args], { cwd, env: { ...process.env, LENNA_STORE: join(cwd, 'store') } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('column-summary through the real runner (the example of CONTRIBUTING.md)', () => {
  it('runs in a pipeline after a file stage, is cached the second time, and runs alone with lenna stage', async () => {
    const dir = await tempDir();
    await cp(join(here, '../pipeline'), join(dir, 'pipeline'), { recursive: true });
    // numbers.js imports @lenna/core and zod: resolve them from the repository, as a stage file in a clone would.
    await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');

    const run = await lenna(dir, ['run', 'pipeline/example.yaml', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const stages = (JSON.parse(run.stdout) as { stages: { id: string; state: string; outputs: Record<string, string> }[] }).stages;
    expect(stages.map((s) => [s.id, s.state])).toEqual([['numbers', 'ran'], ['summary', 'ran']]);

    const [, folder] = (await lenna(dir, ['show', 'summary', '--pipeline', 'pipeline/example.yaml', '--path'])).stdout.trim().split('\n')
      .map((line) => line.split(' ')).find(([output]) => output === 'summary') ?? [];
    const summary = JSON.parse(await readFile(join(folder, 'summary.json'), 'utf8')) as Summary;
    // 1000 standard normal draws: mean near 0, std near 1, the median below the 0.99 quantile.
    expect(summary.count).toBe(1000);
    expect(Math.abs(summary.mean)).toBeLessThan(0.15);
    expect(summary.std).toBeGreaterThan(0.85);
    expect(summary.std).toBeLessThan(1.15);
    expect(summary.quantiles.map((q) => q.q)).toEqual([0.5, 0.9, 0.99]);
    expect(summary.quantiles[0].value).toBeLessThan(summary.quantiles[2].value);

    const again = await lenna(dir, ['run', 'pipeline/example.yaml', '--json']);
    expect(JSON.parse(again.stdout).stages.map((s: { state: string }) => s.state)).toEqual(['cached', 'cached']);

    const table = stages[0].outputs.table;
    await mkdir(join(dir, 'out'));
    const alone = await lenna(dir, ['stage', 'column-summary', '--in', `table=${table}`, '--param', 'quantiles=[0.5,0.9,0.99]', '--out', 'out', '--json']);
    expect(alone.code, alone.stderr).toBe(0);
    // The same stage, params and input as in the pipeline: the same cache key, the same artifact.
    expect(JSON.parse(alone.stdout).outputs.summary).toBe(stages[1].outputs.summary);
    expect(JSON.parse(await readFile(join(dir, 'out', 'summary', 'summary.json'), 'utf8'))).toEqual(summary);

    const bad = await lenna(dir, ['stage', 'column-summary', '--in', `table=${table}`, '--param', 'column=nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/has no column "nope" \(float expected\)/);
  });
});
