import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byId, makeWorkspace, removeWorkspaces, states } from './helpers.js';

afterAll(removeWorkspaces);

describe('lenna run', () => {
  it('runs a pipeline, re-runs nothing when unchanged, and re-runs exactly what a param change touches', async () => {
    const ws = await makeWorkspace();
    const notCached = await ws.lenna(['run', 'basic.yaml', '--cached-only']);
    expect(notCached.exitCode).toBe(3);
    expect(notCached.stderr).toMatch(/4 stage\(s\) are not cached and would have to run: source, left, right, join/);
    expect(await readdir(ws.store).catch(() => [])).not.toContain('objects');
    const first = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(states(first.stdout)).toEqual({ source: 'ran', left: 'ran', right: 'ran', join: 'ran' });
    const joinId = byId(first.stdout).join.outputs.data;
    // source [1,2,3]; left x2, right x3; join = 5x
    expect(JSON.parse(await readFile(join(ws.store, 'objects', joinId, 'data.json'), 'utf8'))).toEqual([5, 10, 15]);

    const lock = JSON.parse(await ws.read('basic.lock.json'));
    expect(Object.keys(lock.stages)).toEqual(['join', 'left', 'right', 'source']);
    expect(lock.stages.join.outputs.data).toBe(joinId);

    const again = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(states(again.stdout)).toEqual({ source: 'cached', left: 'cached', right: 'cached', join: 'cached' });
    expect(await ws.read('basic.lock.json')).toBe(JSON.stringify(lock, null, 2) + '\n');
    expect((await ws.lenna(['run', 'basic.yaml', '--cached-only'])).exitCode).toBe(0);

    const from = byId((await ws.lenna(['run', 'basic.yaml', '--from', 'right', '--dry-run', '--json'])).stdout);
    expect(from.right).toMatchObject({ state: 'to-run', reasons: ['re-run with --from right'] });
    expect([from.source.state, from.left.state, from.join.state]).toEqual(['cached', 'cached', 'to-run']);
    const only = await ws.lenna(['run', 'basic.yaml', '--only', 'left', '--dry-run', '--json']);
    expect(Object.keys(byId(only.stdout))).toEqual(['source', 'left']);
    // A forced stage that makes the same bytes leaves its downstream cached.
    const forced = await ws.lenna(['run', 'basic.yaml', '--force', 'left', '--json']);
    expect(states(forced.stdout)).toEqual({ source: 'cached', left: 'ran', right: 'cached', join: 'cached' });
    expect((await ws.lenna(['run', 'basic.yaml', '--force', 'nosuch'])).stderr).toMatch(/--force nosuch: the pipeline has no such stage; stages: source, left, right, join/);

    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 4'));
    const status = await ws.lenna(['status', 'basic.yaml', '--json']);
    const s = byId(status.stdout);
    expect(s.right.reasons).toEqual(['param factor changed from 3 to 4']);
    expect(s.join.reasons).toEqual(['upstream right will run']);
    expect([s.source.state, s.left.state]).toEqual(['cached', 'cached']);

    const changed = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(states(changed.stdout)).toEqual({ source: 'cached', left: 'cached', right: 'ran', join: 'ran' });
    expect(JSON.parse(await readFile(join(ws.store, 'objects', byId(changed.stdout).join.outputs.data, 'data.json'), 'utf8'))).toEqual([6, 12, 18]);
  });

  it('early cutoff: an edit to A that leaves its output bytes alone re-runs A, and B after it is a cache hit', async () => {
    const ws = await makeWorkspace();
    const first = await ws.lenna(['run', 'chain.yaml', '--json']);
    expect(states(first.stdout)).toEqual({ a: 'ran', b: 'ran' });
    await ws.edit('stages/source/stage.js', (t) => t.replace('// Fixture stage:', '// An edited comment. Fixture stage:'));
    const status = byId((await ws.lenna(['status', 'chain.yaml', '--json'])).stdout);
    expect(status.a.reasons).toEqual(['code of source changed']);
    expect(status.b.reasons).toEqual(['upstream a will run']);
    const second = await ws.lenna(['run', 'chain.yaml', '--json']);
    expect(states(second.stdout)).toEqual({ a: 'ran', b: 'cached' });
    expect(byId(second.stdout).a.outputs).toEqual(byId(first.stdout).a.outputs);
    expect(byId(second.stdout).b.outputs).toEqual(byId(first.stdout).b.outputs);
    // The same edit that does change A's bytes re-runs B as well.
    await ws.edit('stages/source/stage.js', (t) => t.replace('(_, i) => i + ctx.params.seed', '(_, i) => 2 * i + ctx.params.seed'));
    expect(states((await ws.lenna(['run', 'chain.yaml', '--json'])).stdout)).toEqual({ a: 'ran', b: 'ran' });
  });

  it('re-runs a stage whose code changed and its downstream only; catches a corrupt artifact and rebuilds it', async () => {
    const ws = await makeWorkspace();
    expect((await ws.lenna(['run', 'basic.yaml'])).exitCode).toBe(0);
    await ws.edit('stages/sum/stage.js', (t) => t.replace("description: 'a + b'", "description: 'a plus b'"));
    const status = await ws.lenna(['status', 'basic.yaml', '--json']);
    expect(byId(status.stdout).join.reasons).toEqual(['code of sum changed']);
    await ws.edit('stages/double/stage.js', (t) => t + '\n// a comment\n');
    const run = await ws.lenna(['run', 'basic.yaml', '--json']);
    // left and right change code but produce the same bytes, so join's inputs are unchanged; its own code changed.
    expect(states(run.stdout)).toEqual({ source: 'cached', left: 'ran', right: 'ran', join: 'ran' });

    const leftId = byId(run.stdout).left.outputs.data;
    await writeFile(join(ws.store, 'objects', leftId, 'data.json'), '[9,9,9]');
    const status2 = await ws.lenna(['status', 'basic.yaml', '--json']);
    expect(byId(status2.stdout).left.reasons).toEqual([`output data (${leftId.slice(0, 12)}) is corrupt`]);
    const verify = await ws.lenna(['verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain(leftId);
    const rerun = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(states(rerun.stdout)).toEqual({ source: 'cached', left: 'ran', right: 'cached', join: 'cached' });
    expect(byId(rerun.stdout).left.outputs.data).toBe(leftId);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
  });

  it('a stage killed by SIGKILL fails the run with its log, leaves a consistent store, and the next run completes', async () => {
    const ws = await makeWorkspace();
    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 3\n      killSelf: true'));
    const crashed = await ws.lenna(['run', 'basic.yaml', '--json', '--jobs', '1']);
    expect(crashed.exitCode).toBe(1);
    const s = byId(crashed.stdout);
    expect(s.right.state, crashed.stdout + crashed.stderr).toBe('failed');
    expect(s.left.state, crashed.stdout + crashed.stderr).toBe('ran');
    expect(s.right.reasons[0]).toMatch(/killed by SIGKILL; log: .*right-[0-9a-f]{12}\.log/);
    expect(s.join).toMatchObject({ state: 'to-run', reasons: ['upstream right failed'] });
    expect(crashed.stderr).toMatch(/stage right failed/);
    const lock = JSON.parse(await ws.read('basic.lock.json'));
    expect(Object.keys(lock.stages).sort()).toEqual(['left', 'source']);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
    expect(await readdir(join(ws.store, 'tmp'))).toEqual([]);
    // Only the artifacts of the two finished stages are in the store: nothing of the killed one.
    expect((await readdir(join(ws.store, 'objects'))).length).toBe(2);

    await ws.edit('basic.yaml', (t) => t.replace('\n      killSelf: true', ''));
    const next = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(states(next.stdout)).toEqual({ source: 'cached', left: 'cached', right: 'ran', join: 'ran' });
  });

  it('SIGTERM stops the children, keeps finished stages in the lock file, and the next run resumes', async () => {
    const ws = await makeWorkspace();
    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 3\n      sleepMs: 20000'));
    const child = ws.spawn(['run', 'basic.yaml', '--jobs', '1']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (/right: started/.test(out)) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(143);
    const lock = JSON.parse(await ws.read('basic.lock.json'));
    expect(Object.keys(lock.stages).sort()).toEqual(['left', 'source']);
    expect(await readdir(join(ws.store, 'tmp'))).toEqual([]);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
    await ws.edit('basic.yaml', (t) => t.replace('sleepMs: 20000', 'sleepMs: 10'));
    const next = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(states(next.stdout)).toEqual({ source: 'cached', left: 'cached', right: 'ran', join: 'ran' });
  });

  it('two concurrent runs on one store end with a valid store and lock file', async () => {
    const ws = await makeWorkspace();
    const [a, b] = await Promise.all([ws.lenna(['run', 'basic.yaml', '--json']), ws.lenna(['run', 'basic.yaml', '--json'])]);
    expect([a.exitCode, b.exitCode], a.stderr + b.stderr).toEqual([0, 0]);
    expect(byId(a.stdout).join.outputs).toEqual(byId(b.stdout).join.outputs);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
    const lock = JSON.parse(await ws.read('basic.lock.json'));
    expect(Object.keys(lock.stages).sort()).toEqual(['join', 'left', 'right', 'source']);
    expect(lock.stages.join.outputs).toEqual(byId(a.stdout).join.outputs);
    const again = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(Object.values(states(again.stdout))).toEqual(['cached', 'cached', 'cached', 'cached']);
  });

  it('exits 2 with file, line and key on a bad pipeline, and runs nothing', async () => {
    const ws = await makeWorkspace();
    await ws.edit('basic.yaml', (t) => t.replace('factor: 2', 'lamda: 2'));
    const r = await ws.lenna(['run', 'basic.yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^lenna: basic\.yaml:15: stages\.left\.params\.lamda: unknown param "lamda" of double; known params: factor, sleepMs, killSelf, bytes\.$/);
    expect(await readdir(ws.store).catch(() => [])).toEqual([]);
    expect((await ws.lenna(['run', 'basic.yaml', '--jobs', 'x'])).exitCode).toBe(2);
    expect((await ws.lenna(['frobnicate'])).exitCode).toBe(2);
  });

  it('runs two instances that share a cache key once', async () => {
    const ws = await makeWorkspace();
    const r = await ws.lenna(['run', 'dup.yaml', '--json', '--jobs', '2']);
    expect(states(r.stdout), r.stdout + r.stderr).toEqual({ source: 'ran', a: 'ran', b: 'cached' });
    expect(byId(r.stdout).b.outputs).toEqual(byId(r.stdout).a.outputs);
  });
});

describe('the exclusive grant', () => {
  it.skipIf(process.platform === 'win32')('a real measures: true stage (dataset-gen) times with nothing else running: the ticker beside it is paused in every timing window', async () => {
    const ws = await makeWorkspace();
    const ticks = join(ws.dir, 'ticks.txt');
    await writeFile(ticks, '');
    const run = await ws.lenna(['run', 'measures.yaml', '--jobs', '2', '--json'], { env: { LENNA_FIXTURE_TICKS: ticks, LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    expect(run.exitCode, run.stderr).toBe(0);
    const logs = await readdir(join(ws.store, 'logs'));
    const log = await readFile(join(ws.store, 'logs', logs.find((f) => f.startsWith('dataset-gen-')) as string), 'utf8');
    const from = [...log.matchAll(/holds the machine from (\d+)/g)].map((m) => Number(m[1]));
    const to = [...log.matchAll(/releases the machine at (\d+)/g)].map((m) => Number(m[1]));
    // The op table, then each of the 3 rows.
    expect(from.length).toBeGreaterThanOrEqual(4);
    expect(to).toHaveLength(from.length);
    const stamps = (await readFile(ticks, 'utf8')).trim().split('\n').map(Number);
    // The ticker ran across the timings (before the first and after the last), so the check below means something.
    expect(stamps[0]).toBeLessThan(from[0]);
    expect(stamps[stamps.length - 1]).toBeGreaterThan(to[to.length - 1]);
    from.forEach((start, i) => expect(stamps.filter((t) => t > start && t < to[i]), `ticks while dataset-gen held the machine from ${start} to ${to[i]}`).toEqual([]));
  });

  it.skipIf(process.platform === 'win32')('pauses a stage running beside the holder, and it still finishes', async () => {
    const ws = await makeWorkspace();
    const ticks = join(ws.dir, 'ticks.txt');
    await writeFile(ticks, '');
    const run = await ws.lenna(['run', 'hold.yaml', '--jobs', '2', '--json'], { env: { LENNA_FIXTURE_TICKS: ticks } });
    expect(run.exitCode, run.stderr).toBe(0);
    const seen = JSON.parse(await readFile(join(ws.store, 'objects', byId(run.stdout).hold.outputs.seen, 'seen.json'), 'utf8'));
    expect(seen.before).toBeGreaterThan(5); // the ticker ran before the hold
    expect(seen.during).toBe(0); // and not at all during it
    const stamps = (await readFile(ticks, 'utf8')).trim().split('\n').map(Number);
    const longestGap = Math.max(...stamps.slice(1).map((t, i) => t - stamps[i]));
    expect(longestGap).toBeGreaterThanOrEqual(500); // paused for the whole hold, then resumed
  });
});
