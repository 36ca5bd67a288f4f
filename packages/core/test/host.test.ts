import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  UserError,
  defineStage,
  loadStage,
  readArrowFile,
  readSafetensorsFile,
  runStageInProcess,
  tableFromRows,
  tableToRows,
  type StageJob,
  type StageMessage,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureStage = join(here, 'fixtures', 'stage-fixture.mjs');
// Child processes run the built entry (nx builds core before testing it).
const hostEntry = join(here, '..', 'dist', 'host-entry.js');

const demo = defineStage({
  name: 'demo',
  version: 1,
  description: 'in-process demo',
  measures: false,
  params: z.object({ scale: z.number().default(2), label: z.string().default('x') }).strict(),
  inputs: { src: { kind: 'files', description: 'a text file' }, runs: { kind: 'json', description: 'gathered', many: true } },
  outputs: { json: { kind: 'json', description: '' }, tensors: { kind: 'safetensors', description: '' }, table: { kind: 'arrow', description: '' } },
  async run(ctx) {
    for (let i = 0; i < 500; i++) ctx.progress({ done: i + 1, total: 500 });
    ctx.log(`gathered ${ctx.gathered.runs.length}`);
    const text = await readFile(ctx.inputs.src.path('in.txt'), 'utf8');
    await ctx.writeJson('json', 'out.json', { scale: ctx.params.scale, text, runs: ctx.gathered.runs.map((r) => r.files) });
    await ctx.writeSafetensors('tensors', 'w.safetensors', { w: { dtype: 'F32', shape: [2], data: Float32Array.from([ctx.params.scale, 1]) } }, { by: 'demo' });
    await ctx.writeTable('table', 'nested/t.arrow', tableFromRows([{ label: ctx.params.label }]));
    await ctx.writeText('json', 'note.txt', 'hi');
  },
});

describe('runStageInProcess', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenna-host-'));
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'in.txt'), 'input text');
    await mkdir(join(dir, 'run1'));
    await writeFile(join(dir, 'run1', 'm.json'), '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validates params, feeds inputs, writes every output kind and throttles progress', async () => {
    const events: StageMessage[] = [];
    const staging = join(dir, 'staging');
    await runStageInProcess(demo, { params: { scale: 3 }, inputs: { src: join(dir, 'src'), runs: [join(dir, 'run1')] }, stagingDir: staging, onEvent: (m) => events.push(m) });
    const json = await readFile(join(staging, 'json', 'out.json'), 'utf8');
    expect(json).toBe(`${JSON.stringify({ scale: 3, text: 'input text', runs: [['m.json']] }, null, 2)}\n`);
    expect(await readFile(join(staging, 'json', 'note.txt'), 'utf8')).toBe('hi');
    const tensors = await readSafetensorsFile(join(staging, 'tensors', 'w.safetensors'));
    expect(Array.from(tensors.tensors.w.data as Float32Array)).toEqual([3, 1]);
    expect(tensors.metadata).toEqual({ by: 'demo' });
    const table = await readArrowFile(join(staging, 'table', 'nested', 't.arrow'));
    expect(tableToRows(table)).toEqual([{ label: 'x' }]);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(50);
    expect(progress.at(-1)).toEqual({ type: 'progress', event: { done: 500, total: 500 } });
    expect(events).toContainEqual({ type: 'log', message: 'gathered 1' });
  });

  it('names the bad or unknown param in a UserError', async () => {
    const opts = { inputs: { src: join(dir, 'src') }, stagingDir: join(dir, 's') };
    await expect(runStageInProcess(demo, { ...opts, params: { scale: 'big' } })).rejects.toThrow(/param "scale": .*number/);
    await expect(runStageInProcess(demo, { ...opts, params: { scael: 1 } })).rejects.toThrow(UserError);
    await expect(runStageInProcess(demo, { ...opts, params: { scael: 1 } })).rejects.toThrow(/unknown param "scael"/);
  });

  it('refuses missing or unknown inputs and a file an input lacks', async () => {
    await expect(runStageInProcess(demo, { params: {}, inputs: {}, stagingDir: join(dir, 's') })).rejects.toThrow(/needs input "src"/);
    await expect(runStageInProcess(demo, { params: {}, inputs: { src: join(dir, 'src'), bogus: dir }, stagingDir: join(dir, 's') })).rejects.toThrow(/has no input "bogus"/);
    await rm(join(dir, 'src', 'in.txt'));
    await writeFile(join(dir, 'src', 'other.txt'), '');
    await expect(runStageInProcess(demo, { params: {}, inputs: { src: join(dir, 'src'), runs: [] }, stagingDir: join(dir, 's') })).rejects.toThrow(/has no file "in\.txt"; its files are: other\.txt/);
  });

  it('fails a stage that leaves a declared output empty', async () => {
    const lazy = defineStage({ ...demo, name: 'lazy', inputs: {}, async run(ctx) { await ctx.writeJson('json', 'a.json', 1); } });
    await expect(runStageInProcess(lazy, { params: {}, inputs: {}, stagingDir: join(dir, 's') })).rejects.toThrow(/without writing any file to its output "tensors"/);
  });
});

interface ChildResult {
  code: number | null;
  messages: StageMessage[];
  stderr: string;
}

function collect(child: ChildProcess, onMessage?: (m: StageMessage) => void): Promise<ChildResult> {
  const messages: StageMessage[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('message', (m: StageMessage) => {
    messages.push(m);
    onMessage?.(m);
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, messages, stderr })));
}

describe('stage host process', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenna-job-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeJob(params: unknown, inputs: StageJob['inputs'] = {}): Promise<{ jobFile: string; staging: string }> {
    const staging = join(dir, 'staging');
    await mkdir(staging, { recursive: true });
    const job: StageJob = { package: fixtureStage, instance: 'fx@1', params, cacheKey: 'k', inputs, storeRoot: dir, stagingDir: staging, scratchDir: join(dir, 'scratch') };
    const jobFile = join(dir, 'job.json');
    await writeFile(jobFile, JSON.stringify(job));
    return { jobFile, staging };
  }

  const start = (jobFile: string) => fork(hostEntry, [jobFile], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });

  it('is exported as a built entry file', async () => {
    const built = (await import(join(here, '..', 'dist', 'index.js'))) as { stageHostEntry: string };
    expect(built.stageHostEntry).toBe(hostEntry);
    expect(existsSync(hostEntry)).toBe(true);
  });

  it('runs a job over IPC: exclusive request/grant/release, progress, done, exit 0', async () => {
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'in.txt'), 'from input');
    const { jobFile, staging } = await writeJob({ mode: 'exclusive', n: 4 }, { src: { id: 'a'.repeat(64), dir: join(dir, 'in') } });
    const child = start(jobFile);
    const result = await collect(child, (m) => {
      if (m.type === 'exclusive-request') child.send({ type: 'exclusive-grant', token: m.token });
    });
    expect(result.code).toBe(0);
    const types = result.messages.map((m) => m.type);
    expect(types.slice(0, 2)).toEqual(['exclusive-request', 'exclusive-release']);
    expect(types.at(-1)).toBe('done');
    expect(result.messages).toContainEqual({ type: 'progress', event: { done: 4, total: 4, label: 'rows' } });
    const out = JSON.parse(await readFile(join(staging, 'out', 'result.json'), 'utf8'));
    expect(out).toEqual({ n: 4, mode: 'exclusive', text: 'from input', measured: true, instance: 'fx@1' });
    expect(existsSync(join(staging, 'table', 'rows.arrow'))).toBe(true);
  });

  it('exits 2 with a userError message for bad params and for a UserError thrown by the stage', async () => {
    for (const params of [{ n: -1 }, { mode: 'user' }]) {
      const { jobFile } = await writeJob(params);
      const result = await collect(start(jobFile));
      expect(result.code).toBe(2);
      expect(result.messages.at(-1)).toMatchObject({ type: 'error', userError: true });
    }
  });

  it('exits 1 with the error message when the stage throws or leaves an output empty', async () => {
    for (const [mode, pattern] of [['throw', /fixture failure/], ['nothing', /output "out"/]] as const) {
      const { jobFile } = await writeJob({ mode });
      const result = await collect(start(jobFile));
      expect(result.code).toBe(1);
      expect(result.messages.at(-1)).toMatchObject({ type: 'error', userError: false, message: expect.stringMatching(pattern) });
      expect(result.stderr).toMatch(pattern);
    }
  });

  it('aborts ctx.signal on SIGTERM', async () => {
    const { jobFile } = await writeJob({ mode: 'wait' });
    const child = start(jobFile);
    const result = await collect(child, (m) => {
      if (m.type === 'log') child.kill('SIGTERM');
    });
    expect(result.code).toBe(1);
    expect(result.messages.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/interrupted/) });
    expect(result.stderr).toContain('waiting for a signal');
  });

  it('without an IPC channel, writes progress to stderr and runs exclusive() at once', async () => {
    const { jobFile, staging } = await writeJob({ mode: 'exclusive', n: 2 });
    const result = await collect(spawn(process.execPath, [hostEntry, jobFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/rows 2\/2/);
    expect(JSON.parse(await readFile(join(staging, 'out', 'result.json'), 'utf8')).measured).toBe(true);
  });
});

describe('loadStage', () => {
  it('loads a stage module by absolute path', async () => {
    expect((await loadStage(fixtureStage)).name).toBe('fixture-stage');
  });

  it('says clearly when a package is missing or exports no stage', async () => {
    await expect(loadStage('@lenna/no-such-stage')).rejects.toThrow(/stage package "@lenna\/no-such-stage" cannot be found/);
    await expect(loadStage(join(here, 'fixtures', 'commit-child.mjs.missing'))).rejects.toThrow(/does not exist/);
    const notStage = join(tmpdir(), `lenna-not-a-stage-${process.pid}.mjs`);
    await writeFile(notStage, 'export const other = 1;\n');
    await expect(loadStage(notStage)).rejects.toThrow(/does not export a valid stage definition/);
    await rm(notStage);
  });
});
