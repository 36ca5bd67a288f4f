// The SLURM executor on a real cluster: the one-node cluster of scripts/slurm-local.sh (started here
// if it is not up and this is root, and stopped again afterwards). `npm run test:slurm`; skipped with
// one line where SLURM cannot run, a failure with LENNA_REQUIRE_SLURM=1.
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRequirement } from '@lenna/core';
import type { SubmissionRecord } from '../src/slurm/submission.js';
import { byId, eventually, makeWorkspace, removeWorkspaces, repoRoot, states, type StageJson, type Workspace } from './helpers.js';

const script = join(repoRoot, 'scripts', 'slurm-local.sh');
const clusterDir = process.env.LENNA_SLURM_DIR ?? '/tmp/lenna-slurm';
const PROGRAMS = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel'];

/** 'up' (already running), 'start' (this test starts it), or why it cannot run here. */
function clusterHere(): { found?: 'up' | 'start'; howTo: string } {
  if (spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0) return { found: 'up', howTo: '' };
  const missing = PROGRAMS.filter((p) => spawnSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) return { howTo: `install ${missing.join(', ')} (apt-get install slurmctld slurmd slurm-client munge), as root` };
  if (process.getuid?.() !== 0) return { howTo: 'run them as root (scripts/slurm-local.sh starts a one-node cluster on loopback and needs root)' };
  return { found: 'start', howTo: '' };
}

const here = clusterHere();
const cluster = systemRequirement(here.found, { thing: 'SLURM', what: 'a SLURM cluster', tests: 'the SLURM executor tests', howTo: here.howTo });
const slurmEnv = { SLURM_CONF: join(clusterDir, 'slurm.conf'), LENNA_SLURM_POLL_S: '0.5' };

let started = false;
beforeAll(() => {
  if (cluster.get() !== 'start') return;
  const up = spawnSync('bash', [script, 'up'], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`scripts/slurm-local.sh up failed: ${up.stderr}${up.stdout}`);
  started = true;
}, 120_000);

afterAll(async () => {
  await removeWorkspaces();
  if (started) spawnSync('bash', [script, 'down'], { stdio: 'ignore' });
}, 120_000);

function slurm(ws: Workspace, args: string[]) {
  return ws.lenna(args, { env: slurmEnv });
}

async function submissions(ws: Workspace): Promise<SubmissionRecord[]> {
  const dirs = (await readdir(join(ws.store, 'slurm')).catch(() => [] as string[])).filter((d) => d !== 'keys').sort();
  return Promise.all(dirs.map(async (d) => JSON.parse(await readFile(join(ws.store, 'slurm', d, 'submission.json'), 'utf8')) as SubmissionRecord));
}

/** Every file of every output of each instance, byte for byte, between two stores. */
async function expectSameBytes(a: Workspace, b: Workspace, stages: Record<string, StageJson>): Promise<number> {
  let files = 0;
  for (const stage of Object.values(stages)) {
    for (const id of Object.values(stage.outputs)) {
      for (const name of (await readdir(join(a.store, 'objects', id))).filter((n) => n !== 'manifest.json')) {
        expect(await readFile(join(b.store, 'objects', id, name))).toEqual(await readFile(join(a.store, 'objects', id, name)));
        files++;
      }
    }
  }
  return files;
}

describe.skipIf(cluster.skip)('lenna run --executor slurm (a real one-node cluster)', () => {
  it('runs the diamond and the sweep with artifacts byte-identical to a local run, one job per instance (siblings as one array), none for cached ones', async () => {
    const local = await makeWorkspace();
    const ws = await makeWorkspace();
    for (const [file, instances, sbatchCalls] of [['basic.yaml', 4, 4], ['sweep.yaml', 8, 6]] as const) {
      const reference = await local.lenna(['run', file, '--json']);
      expect(reference.exitCode, reference.stderr).toBe(0);
      const run = await slurm(ws, ['run', file, '--executor', 'slurm', '--json']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).executor).toBe('slurm');
      const stages = byId(run.stdout) as Record<string, StageJson & { job?: string }>;
      expect(Object.values(stages).every((s) => s.state === 'ran' && /^\d+(_\d+)?$/.test(s.job ?? ''))).toBe(true);
      expect(Object.fromEntries(Object.entries(stages).map(([id, s]) => [id, s.outputs]))).toEqual(Object.fromEntries(Object.entries(byId(reference.stdout)).map(([id, s]) => [id, s.outputs])));
      expect(await expectSameBytes(local, ws, stages)).toBeGreaterThan(0);
      expect(JSON.parse(await ws.read(file.replace('.yaml', '.lock.json')))).toEqual(JSON.parse(await local.read(file.replace('.yaml', '.lock.json'))));
      const record = (await submissions(ws)).at(-1) as SubmissionRecord;
      expect(Object.keys(record.instances)).toHaveLength(instances);
      expect(record.sbatch).toHaveLength(sbatchCalls);
    }
    const sweepArgs = (await submissions(ws))[1].sbatch.map((s) => s.args);
    expect(sweepArgs.filter((a) => a.includes('--array=0-2'))).toHaveLength(1);
    expect(sweepArgs.filter((a) => a.includes('--exclusive'))).toHaveLength(3);

    const again = await slurm(ws, ['run', 'sweep.yaml', '--executor', 'slurm', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(new Set(Object.values(states(again.stdout)))).toEqual(new Set(['cached']));
    expect(await submissions(ws)).toHaveLength(2);
    // A change to the timing stage only: its three instances, all waiting on nothing, as one array of exclusive jobs.
    const timing = await slurm(ws, ['run', 'sweep.yaml', '--executor', 'slurm', '--set', 'timing.runs=4', '--json']);
    expect(timing.exitCode, timing.stderr).toBe(0);
    expect(Object.entries(states(timing.stdout)).filter(([, s]) => s === 'ran').map(([id]) => id)).toEqual(['timing@factor=1', 'timing@factor=2', 'timing@factor=3']);
    const last = (await submissions(ws)).at(-1) as SubmissionRecord;
    expect(last.sbatch).toHaveLength(1);
    expect(last.sbatch[0].args).toEqual(expect.arrayContaining(['--array=0-2', '--exclusive']));
    expect(last.sbatch[0].args.some((a) => a.startsWith('--dependency'))).toBe(false);
  });

  it('--detach returns after submitting; status follows the jobs until they are done; then --cached-only exits 0', async () => {
    const ws = await makeWorkspace();
    const detached = await slurm(ws, ['run', 'basic.yaml', '--executor', 'slurm', '--detach', '--json']);
    expect(detached.exitCode, detached.stderr).toBe(0);
    const submitted = byId(detached.stdout) as Record<string, StageJson & { job?: string }>;
    expect(Object.values(submitted).map((s) => s.state)).toEqual(['submitted', 'submitted', 'submitted', 'submitted']);
    const seen = new Set<string>();
    const done = await eventually(async () => {
      const status = await slurm(ws, ['status', 'basic.yaml', '--json']);
      const jobs = byId(status.stdout) as Record<string, StageJson & { job?: string; jobState?: string }>;
      Object.values(jobs).forEach((s) => seen.add(`${s.id} ${s.jobState}`));
      expect(Object.values(jobs).map((s) => s.job)).toEqual(Object.values(submitted).map((s) => s.job));
      return Object.values(jobs).every((s) => s.jobState === 'COMPLETED' && s.state === 'cached');
    }, 240_000, 1000);
    expect(done).toBe(true);
    // The join waits on two jobs that each wait on a third: status saw it before it completed.
    expect([...seen].some((s) => /^join (PENDING|RUNNING)$/.test(s))).toBe(true);
    const cachedOnly = await slurm(ws, ['run', 'basic.yaml', '--cached-only']);
    expect(cachedOnly.exitCode, cachedOnly.stderr).toBe(0);
    expect(Object.keys(JSON.parse(await ws.read('basic.lock.json')).stages).sort()).toEqual(['join', 'left', 'right', 'source']);
  });

  it('a failing stage fails its job; SLURM cancels the job that needs it; status shows the failure, its log and last lines', async () => {
    const ws = await makeWorkspace();
    const run = await slurm(ws, ['run', 'basic.yaml', '--executor', 'slurm', '--set', 'left.killSelf=true', '--json']);
    expect(run.exitCode).toBe(1);
    const stages = byId(run.stdout);
    expect([stages.source.state, stages.left.state, stages.right.state, stages.join.state]).toEqual(['ran', 'failed', 'ran', 'to-run']);
    expect(stages.join.reasons[0]).toMatch(/^upstream left failed \(SLURM cancelled job \d+\)$/);
    expect(run.stderr).toMatch(/lenna: stage left failed: killed by SIGKILL \(job \d+ FAILED\); log: .*left-[0-9a-f]{12}\.log/);
    const status = await slurm(ws, ['status', 'basic.yaml', '--set', 'left.killSelf=true', '--json']);
    const jobs = byId(status.stdout) as Record<string, StageJson & { jobState?: string; jobReason?: string; log?: string; tail?: string[] }>;
    expect(jobs.left).toMatchObject({ state: 'to-run', jobState: 'FAILED' });
    expect(jobs.left.log).toMatch(/logs\/left-[0-9a-f]{12}\.log$/);
    expect(jobs.left.tail?.join('\n')).toMatch(/left \(double\) key [0-9a-f]{64}/);
    expect(jobs.join).toMatchObject({ jobState: 'CANCELLED', jobReason: 'DependencyNeverSatisfied' });
    const text = await slurm(ws, ['status', 'basic.yaml', '--set', 'left.killSelf=true']);
    expect(text.stdout).toMatch(/^left: job \d+ FAILED; log: .*left-[0-9a-f]{12}\.log$/m);
  });

  it('cancel stops queued and running jobs and leaves a store that verifies, with no staging folder left', async () => {
    const ws = await makeWorkspace();
    const sets = ['--set', 'scale.sleepMs=60000'];
    const detached = await slurm(ws, ['run', 'sweep.yaml', '--executor', 'slurm', '--detach', ...sets]);
    expect(detached.exitCode, detached.stderr).toBe(0);
    const running = await eventually(async () => {
      const status = byId((await slurm(ws, ['status', 'sweep.yaml', ...sets, '--json'])).stdout) as Record<string, StageJson & { jobState?: string }>;
      return status['scale@factor=1'].jobState === 'RUNNING';
    }, 120_000, 500);
    expect(running).toBe(true);
    const cancel = await slurm(ws, ['cancel', 'sweep.yaml']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/cancelled job \d+_0 \(scale@factor=1, was RUNNING\)/);
    expect(cancel.stdout).toMatch(/cancelled job \d+ \(collect, was PENDING\)/);
    const after = byId((await slurm(ws, ['status', 'sweep.yaml', ...sets, '--json'])).stdout) as Record<string, StageJson & { jobState?: string }>;
    expect(Object.values(after).filter((s) => s.id !== 'source').every((s) => s.jobState === 'CANCELLED')).toBe(true);
    const verify = await slurm(ws, ['verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(await readdir(join(ws.store, 'tmp')).catch(() => [])).toEqual([]);
    expect((await slurm(ws, ['cancel', 'sweep.yaml'])).stdout).toBe('No job of sweep.yaml is queued or running.');
  });
});
