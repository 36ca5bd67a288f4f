import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '@lenna/core';
import { runPipeline } from '../src/execute.js';
import { loadPipeline } from '../src/pipeline/load.js';
import { parseOverride } from '../src/pipeline/overrides.js';
import { PlainReporter } from '../src/progress.js';
import type { SlurmClient } from '../src/slurm/client.js';
import { SlurmExecutor } from '../src/slurm/executor.js';
import { knownJobs } from '../src/slurm/jobs.js';
import { batchScript, collapseDependencies, groupIntoArrays, parseJobId, resourceArgs, sbatchArgs } from '../src/slurm/sbatch.js';
import type { SlurmJobSpec, SubmissionRecord } from '../src/slurm/submission.js';
import { FakeSlurm } from './fake-slurm.js';
import { byId, makeWorkspace, removeWorkspaces, type Workspace } from './helpers.js';

afterAll(removeWorkspaces);

describe('sbatch command construction', () => {
  it('turns a request into sbatch arguments: dependencies, array, exclusive, resources, partition and account', () => {
    const args = sbatchArgs({
      name: 'lenna-q-search',
      script: '/s/jobs/3.sh',
      output: '/s/out/3_%a.out',
      chdir: '/repo',
      partition: 'gpu',
      account: 'lab',
      dependencies: ['12', '13_1'],
      arraySize: 3,
      resources: { gpus: 1, cpus: 4, mem: '16g', time: '4:00:00' },
      exclusive: true,
    });
    expect(args).toEqual([
      '--parsable',
      '--job-name=lenna-q-search',
      '--output=/s/out/3_%a.out',
      '--chdir=/repo',
      '--export=ALL',
      '--partition=gpu',
      '--account=lab',
      '--array=0-2',
      '--dependency=afterok:12:13_1',
      '--kill-on-invalid-dep=yes',
      '--exclusive',
      '--gres=gpu:1',
      '--cpus-per-task=4',
      '--mem=16G',
      '--time=4:00:00',
      '/s/jobs/3.sh',
    ]);
    const plain = sbatchArgs({ name: 'n', script: 's.sh', output: 'o', chdir: '/', dependencies: [], arraySize: 1 });
    expect(plain).toEqual(['--parsable', '--job-name=n', '--output=o', '--chdir=/', '--export=ALL', 's.sh']);
    expect(resourceArgs({ mem: 2048, time: 90 })).toEqual(['--mem=2048', '--time=90']);
  });

  it('names a whole array by its id, keeps single tasks, and groups siblings with the same dependencies into arrays', () => {
    const sizes = new Map([['12', 3]]);
    expect(collapseDependencies(['12_0', '12_1', '12_2', '7'], sizes)).toEqual(['12', '7']);
    expect(collapseDependencies(['12_0', '12_2', '12_0'], sizes)).toEqual(['12_0', '12_2']);
    const groups = groupIntoArrays([
      { item: 'a', stage: 's', dependencies: ['1'] },
      { item: 'b', stage: 's', dependencies: ['1'] },
      { item: 'c', stage: 's', dependencies: ['2'] },
      { item: 'd', stage: 't', dependencies: ['1'] },
      { item: 'e', stage: 's', dependencies: ['1', '1'] },
    ]);
    expect(groups.map((g) => [g.stage, g.dependencies, g.items])).toEqual([
      ['s', ['1'], ['a', 'b', 'e']],
      ['s', ['2'], ['c']],
      ['t', ['1'], ['d']],
    ]);
  });

  it('reads the id sbatch --parsable prints, and quotes the job file for the shell', () => {
    expect(parseJobId('4711\n')).toBe('4711');
    expect(parseJobId('4711;cluster2')).toBe('4711');
    expect(parseJobId('sbatch: error')).toBeUndefined();
    expect(batchScript('/usr/bin/node', "/it's/lenna.js", '/s/jobs/1.json')).toContain(`exec '/usr/bin/node' '/it'\\''s/lenna.js' job '/s/jobs/1.json'\n`);
    expect(batchScript('n', 'l', ['/s/jobs/3_', '.json'])).toContain(`job '/s/jobs/3_'"$SLURM_ARRAY_TASK_ID"'.json'\n`);
  });
});

interface Submitted {
  states: Record<string, string>;
  jobs: Record<string, string | undefined>;
  reasons: Record<string, string[]>;
  outputs: Record<string, Record<string, string>>;
  record?: SubmissionRecord;
  dir?: string;
}

/** `lenna run <file> --executor slurm` in this process, with a fake cluster. */
async function submit(ws: Workspace, file: string, client: SlurmClient, options: { detach: boolean; sets?: string[]; force?: string[]; partition?: string; account?: string }): Promise<Submitted> {
  const pipeline = await loadPipeline(join(ws.dir, file), { cwd: ws.dir, overrides: (options.sets ?? []).map(parseOverride) });
  const executor = new SlurmExecutor({ detach: options.detach, command: `lenna run ${file}`, lockTimeoutS: 60, client, pollMs: 100, cwd: ws.dir, partition: options.partition, account: options.account });
  const result = await runPipeline(pipeline, {
    store: new ArtifactStore(ws.store),
    reporter: new PlainReporter(() => undefined),
    signal: new AbortController().signal,
    executor,
    force: options.force,
    keepLockEntries: (options.sets ?? []).length > 0,
  });
  const map = <T>(f: (s: (typeof result.statuses)[number]) => T): Record<string, T> => Object.fromEntries(result.statuses.map((s) => [s.instance.id, f(s)]));
  const dir = executor.submissionDir;
  const record = dir ? (JSON.parse(await readFile(join(dir, 'submission.json'), 'utf8')) as SubmissionRecord) : undefined;
  return { states: map((s) => s.state), jobs: map((s) => s.job?.id), reasons: map((s) => s.reasons), outputs: map((s) => s.outputs), record, dir };
}

const option = (args: string[], name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

describe('the SLURM executor (a fake cluster)', () => {
  it('submits a sweep in topological order: one job per instance, sibling instances as an array, afterok on exactly the upstream jobs', async () => {
    const ws = await makeWorkspace();
    const fake = new FakeSlurm({ run: false });
    const run = await submit(ws, 'sweep.yaml', fake, { detach: true, partition: 'cpu', account: 'lab' });
    expect(Object.values(run.states).every((s) => s === 'submitted')).toBe(true);
    // source; scale as one array of 3; timing x3 (each waits on its own scale task); collect (waits on the whole array)
    expect(fake.calls).toHaveLength(6);
    const [source, scale, t1, t2, t3, collect] = fake.calls;
    expect(option(source, 'dependency')).toBeUndefined();
    expect(option(scale, 'array')).toBe('0-2');
    expect(option(scale, 'dependency')).toBe('afterok:100');
    expect([t1, t2, t3].map((a) => option(a, 'dependency'))).toEqual(['afterok:101_0', 'afterok:101_1', 'afterok:101_2']);
    expect(option(collect, 'dependency')).toBe('afterok:101');
    for (const args of fake.calls) {
      expect(args).toContain('--parsable');
      expect(option(args, 'partition')).toBe('cpu');
      expect(option(args, 'account')).toBe('lab');
      // Only the measures stage (timing) has the node to itself.
      expect(args.includes('--exclusive')).toBe([t1, t2, t3].includes(args));
      expect(args.includes('--kill-on-invalid-dep=yes')).toBe(args !== source);
    }
    expect(run.jobs).toEqual({
      source: '100',
      'scale@factor=1': '101_0',
      'scale@factor=2': '101_1',
      'scale@factor=3': '101_2',
      'timing@factor=1': '102',
      'timing@factor=2': '103',
      'timing@factor=3': '104',
      collect: '105',
    });
    expect(run.record?.sbatch.map((s) => s.job)).toEqual(['100', '101', '102', '103', '104', '105']);
    expect(run.record?.instances['scale@factor=2']).toEqual({ job: '101_1', stage: 'scale', files: '1_1' });
    // The job file of collect reads each scale instance's result; only source's key was known on this host.
    const spec = (files: string): Promise<SlurmJobSpec> => readFile(join(run.dir as string, 'jobs', `${files}.json`), 'utf8').then(JSON.parse);
    const collectSpec = await spec('5');
    expect(collectSpec.inputs.runs).toEqual([1, 2, 3].map((f) => ({ from: `scale@factor=${f}`, output: 'data' })));
    expect(Object.keys(collectSpec.upstreamResults)).toEqual(['scale@factor=1', 'scale@factor=2', 'scale@factor=3']);
    expect(collectSpec.submitKey).toBeUndefined();
    expect((await spec('0')).submitKey).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(join(run.dir as string, 'jobs', '1.sh'), 'utf8')).toContain(`job '${run.dir}/jobs/1_'"$SLURM_ARRAY_TASK_ID"'.json'`);
  });

  it("turns a stage's resources: into sbatch options, and refuses a malformed one naming file and key", async () => {
    const ws = await makeWorkspace();
    await ws.edit('chain.yaml', (t) => t.replace(/(\n {2}b:\n)/, '$1    resources: { gpus: 2, cpus: 4, mem: 16G, time: "1-00:00:00" }\n'));
    const fake = new FakeSlurm({ run: false });
    await submit(ws, 'chain.yaml', fake, { detach: true });
    expect(fake.calls).toHaveLength(2);
    expect(resourceArgs({})).toEqual([]);
    expect(fake.calls[0].filter((a) => /^--(gres|cpus|mem|time)/.test(a))).toEqual([]);
    expect(fake.calls[1].filter((a) => /^--(gres|cpus|mem|time)/.test(a))).toEqual(['--gres=gpu:2', '--cpus-per-task=4', '--mem=16G', '--time=1-00:00:00']);
    await ws.edit('chain.yaml', (t) => t.replace('gpus: 2', 'gpus: 2, disk: 1'));
    const unknown = await ws.lenna(['status', 'chain.yaml']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/chain\.yaml:10: stages\.b\.resources\.disk: unknown key "disk"; allowed here: gpus, cpus, mem, time\./);
    await ws.edit('chain.yaml', (t) => t.replace(', disk: 1', '').replace('mem: 16G', 'mem: lots'));
    const malformed = await ws.lenna(['status', 'chain.yaml']);
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toMatch(/chain\.yaml:10: stages\.b\.resources\.mem: write mem as a size such as 16G or 512M\./);
  });

  it('jobs run `lenna job`: outputs equal a local run, the lock file is written by the jobs, cached instances are not submitted', async () => {
    const local = await makeWorkspace();
    const reference = await local.lenna(['run', 'basic.yaml', '--json']);
    expect(reference.exitCode, reference.stderr).toBe(0);
    const ws = await makeWorkspace();
    const fake = new FakeSlurm({ run: true, env: { LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    const run = await submit(ws, 'basic.yaml', fake, { detach: false });
    expect(run.states).toEqual({ source: 'ran', left: 'ran', right: 'ran', join: 'ran' });
    expect(run.outputs).toEqual(Object.fromEntries(Object.entries(byId(reference.stdout)).map(([id, s]) => [id, s.outputs])));
    const lock = JSON.parse(await ws.read('basic.lock.json'));
    expect(lock).toEqual(JSON.parse(await local.read('basic.lock.json')));
    expect(fake.calls).toHaveLength(4);
    // left and right are two stages (not a sweep): two jobs, both waiting on source only; join waits on both.
    expect(fake.calls.map((a) => option(a, 'dependency'))).toEqual([undefined, 'afterok:100', 'afterok:100', 'afterok:101:102']);
    expect(await readdir(join(ws.store, 'runs'))).toHaveLength(4);

    const again = new FakeSlurm({ run: true });
    const cached = await submit(ws, 'basic.yaml', again, { detach: false });
    expect(cached.states).toEqual({ source: 'cached', left: 'cached', right: 'cached', join: 'cached' });
    expect(again.calls).toHaveLength(0);
    // --force runs left although its key is in the store; join, submitted behind it, finds the same inputs cached.
    const forcing = new FakeSlurm({ run: true, env: { LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    const forced = await submit(ws, 'basic.yaml', forcing, { detach: false, force: ['left'] });
    expect(forced.states).toEqual({ source: 'cached', left: 'ran', right: 'cached', join: 'cached' });
    expect(forcing.calls).toHaveLength(2);

    const changed = new FakeSlurm({ run: true, env: { LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    const partly = await submit(ws, 'basic.yaml', changed, { detach: false, sets: ['right.factor=5'] });
    expect(partly.states).toEqual({ source: 'cached', left: 'cached', right: 'ran', join: 'ran' });
    expect(changed.calls.map((a) => option(a, 'dependency'))).toEqual([undefined, 'afterok:100']);
    const joined = JSON.parse(await readFile(join(ws.store, 'objects', partly.outputs.join.data, 'data.json'), 'utf8'));
    expect(joined).toEqual([7, 14, 21]);
  });

  it("a measures stage's key holds the environment of the node that measured; a submitting host unlike the nodes resubmits it, and its job finds it cached", async () => {
    const ws = await makeWorkspace();
    // The "nodes" time on another backend than this (submitting) process reports.
    const node = { LENNA_FIXTURE_BACKEND: 'node-backend', LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') };
    const first = new FakeSlurm({ run: true, env: node });
    const run = await submit(ws, 'measure.yaml', first, { detach: false, sets: ['timing.sleepMs=0'] });
    expect(run.states).toEqual({ source: 'ran', timing: 'ran' });
    const manifest = JSON.parse(await readFile(join(ws.store, 'objects', run.outputs.timing.timing, 'manifest.json'), 'utf8'));
    expect(manifest.environment).toEqual({ cpu: 'fixture-cpu', backend: 'node-backend' });
    const lock = JSON.parse(await ws.read('measure.lock.json'));
    expect(lock.stages.timing.key).toBe(manifest.cacheKey);

    const second = new FakeSlurm({ run: true, env: node });
    const again = await submit(ws, 'measure.yaml', second, { detach: false, sets: ['timing.sleepMs=0'] });
    expect(again.states).toEqual({ source: 'cached', timing: 'cached' });
    expect(second.calls).toHaveLength(1);
    const result = JSON.parse(await readFile(join(again.dir as string, 'results', '0.json'), 'utf8'));
    expect(result).toMatchObject({ state: 'cached', key: manifest.cacheKey });
    expect(result.note).toMatch(/^the cache key on this node \([0-9a-f]{12}\) differs from the submitting host's \([0-9a-f]{12}\): this node's environment differs/);
  });

  it('a failing job fails its instance with its log; SLURM cancels the jobs that need it; status shows both', async () => {
    const ws = await makeWorkspace();
    const fake = new FakeSlurm({ run: true, env: { LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    const run = await submit(ws, 'basic.yaml', fake, { detach: false, sets: ['left.killSelf=true'] });
    expect(run.states).toEqual({ source: 'ran', left: 'failed', right: 'ran', join: 'to-run' });
    expect(run.reasons.left[0]).toMatch(/killed by SIGKILL \(job 101 FAILED\); log: .*logs\/left-[0-9a-f]{12}\.log$/);
    expect(run.reasons.join).toEqual(['upstream left failed (SLURM cancelled job 103)']);
    const jobs = Object.fromEntries((await knownJobs(ws.store, join(ws.dir, 'basic.lock.json'), fake)).map((j) => [j.instance, j.info]));
    expect(jobs.left).toMatchObject({ id: '101', state: 'FAILED' });
    expect(jobs.left.log).toMatch(/logs\/left-[0-9a-f]{12}\.log$/);
    expect(jobs.left.tail?.[0]).toMatch(/^# .* left \(double\) key [0-9a-f]{64}$/);
    expect(jobs.join).toMatchObject({ id: '103', state: 'CANCELLED', reason: 'DependencyNeverSatisfied' });
    expect(jobs.join.log).toBeUndefined();
    expect(jobs.right).toMatchObject({ state: 'COMPLETED' });
  });
});

describe('lenna run --executor', () => {
  it('refuses an unknown executor, SLURM options without it, and --jobs with it (exit 2, one sentence)', async () => {
    const ws = await makeWorkspace();
    const cases: [string[], RegExp][] = [
      [['--executor', 'pbs'], /--executor pbs is not an executor; give --executor local or --executor slurm\./],
      [['--partition', 'gpu'], /--partition applies to SLURM jobs; add --executor slurm\./],
      [['--executor', 'slurm', '--jobs', '2'], /--jobs applies to the local executor/],
    ];
    for (const [args, message] of cases) {
      const r = await ws.lenna(['run', 'basic.yaml', ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
