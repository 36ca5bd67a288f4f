import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byId, eventually, lennaBin, makeWorkspace, processesMentioning, removeWorkspaces, states, type Workspace } from './helpers.js';

afterAll(removeWorkspaces);

const isRoot = process.getuid?.() === 0;

/** Writes into a committed (read-only) file in place, keeping its size and mtime: what a bad disk or a stray tool does. */
async function flipByte(file: string): Promise<void> {
  const before = await stat(file);
  await chmod(file, 0o644);
  const bytes = await readFile(file);
  bytes[0] ^= 0x01;
  await writeFile(file, bytes);
  await utimes(file, before.atime, before.mtime);
}

function outputFile(ws: Workspace, id: string, file = 'data.json'): string {
  return join(ws.store, 'objects', id, file);
}

/** A process that stays alive until killed, to stand for another lenna holding a lock. */
function liveProcess(): { pid: number; stop(): void } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
  return { pid: child.pid as number, stop: () => child.kill('SIGKILL') };
}

function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('nothing a user ran is lost', () => {
  it('a one-off --set run keeps the sweep reachable: after it and a gc, the sweep is all cache hits', async () => {
    const ws = await makeWorkspace();
    expect((await ws.lenna(['run', 'sweep.yaml', '--jobs', '2'])).exitCode).toBe(0);
    const oneOff = await ws.lenna(['run', 'sweep.yaml', '--set', 'scale.factor=7', '--json']);
    expect(oneOff.exitCode, oneOff.stderr).toBe(0);
    const lock = JSON.parse(await ws.read('sweep.lock.json'));
    expect(Object.keys(lock.stages)).toEqual(expect.arrayContaining(['scale', 'scale@factor=1', 'scale@factor=2', 'scale@factor=3']));
    // No pipelines/ folder here: the store remembers the lock file that used it.
    const gc = await ws.lenna(['gc']);
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/removed 0 artifact\(s\)/);
    const again = await ws.lenna(['run', 'sweep.yaml', '--json']);
    expect(Object.values(states(again.stdout)).every((s) => s === 'cached'), again.stdout).toBe(true);
    // The one-off's results are still there too (its run record protects them), also after the sweep's run pruned its lock entries.
    expect((await ws.lenna(['gc'])).exitCode).toBe(0);
    const back = await ws.lenna(['run', 'sweep.yaml', '--set', 'scale.factor=7', '--json']);
    expect(Object.values(states(back.stdout)).every((s) => s === 'cached'), back.stdout).toBe(true);

    // With nothing to protect (no lock file, no run record), gc refuses unless told --all.
    await rm(join(ws.store, 'runs'), { recursive: true });
    await rm(join(ws.store, 'locks'), { recursive: true });
    await rm(join(ws.dir, 'sweep.lock.json'));
    const refused = await ws.lenna(['gc']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^lenna: lenna gc: no lock file and no run record references anything in the store .*, so gc would delete all \d+ artifact\(s\); give the lock files that use it .* or --all to delete everything\.$/);
    const listed = await ws.lenna(['gc', '--all', '--dry-run']);
    expect(listed.stdout).toMatch(/would remove [0-9a-f]{64} {2}double\.data of scale@factor=2, \d+ B: --all/);
    expect((await ws.lenna(['gc', '--all'])).exitCode).toBe(0);
    expect(await readdir(join(ws.store, 'objects'))).toEqual([]);
    expect(await readdir(join(ws.store, 'cache'))).toEqual([]);
  });
});

describe('nothing corrupt is served', () => {
  it('a byte flipped in place (size and mtime kept) is caught; verify quarantines it; the next run rebuilds it and says so', async () => {
    const ws = await makeWorkspace();
    const first = byId((await ws.lenna(['run', 'basic.yaml', '--json'])).stdout);
    const leftId = first.left.outputs.data;
    await flipByte(outputFile(ws, leftId));
    const status = byId((await ws.lenna(['status', 'basic.yaml', '--json'])).stdout);
    expect(status.left.reasons).toEqual([`output data (${leftId.slice(0, 12)}) is corrupt`]);
    const verify = await ws.lenna(['verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`^corrupt ${leftId}: file data\\.json has sha256 .*; moved to .*quarantine/${leftId}\\.`, 'm'));
    expect(existsSync(join(ws.store, 'objects', leftId))).toBe(false);
    const run = await ws.lenna(['run', 'basic.yaml', '--force', 'join', '--json']);
    expect(states(run.stdout)).toEqual({ source: 'cached', left: 'ran', right: 'cached', join: 'ran' });
    expect(run.stderr).toMatch(/left: rebuilding: output data \([0-9a-f]{12}\) was quarantined as corrupt \(file data\.json has sha256/);
    expect(JSON.parse(await readFile(outputFile(ws, byId(run.stdout).join.outputs.data), 'utf8'))).toEqual([5, 10, 15]);
    expect(byId(run.stdout).left.outputs.data).toBe(leftId);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')('an unreadable object (permission denied) is reported in one sentence, never deleted or rebuilt', async () => {
    const ws = await makeWorkspace();
    const leftId = byId((await ws.lenna(['run', 'basic.yaml', '--json'])).stdout).left.outputs.data;
    // Root reads anything: the commands run as nobody then, on a workspace nobody may read.
    const asUser = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : [process.execPath];
    if (isRoot) execFileSync('chmod', ['-R', 'o+rX', ws.dir]);
    await chmod(outputFile(ws, leftId), 0o000);
    const lennaAs = (args: string[]) => {
      try {
        return { code: 0, out: execFileSync(asUser[0], [...asUser.slice(1), lennaBin, ...args], { cwd: ws.dir, env: { ...process.env, LENNA_STORE: ws.store }, encoding: 'utf8', stdio: 'pipe' }) };
      } catch (error) {
        const e = error as { status: number; stdout: string; stderr: string };
        return { code: e.status, out: e.stdout + e.stderr };
      }
    };
    const status = lennaAs(['status', 'basic.yaml']);
    expect(status.code).toBe(2);
    expect(status.out).toMatch(new RegExp(`^lenna: permission denied on ${outputFile(ws, leftId)}; give your user access to it .* \\(EACCES\\)\\.\\n$`));
    const verify = lennaAs(['verify']);
    expect(verify.code).toBe(2);
    expect(verify.out).toMatch(new RegExp(`unreadable ${leftId}: .*permission denied`));
    expect(existsSync(outputFile(ws, leftId))).toBe(true);
    await chmod(outputFile(ws, leftId), 0o444);
    const after = await ws.lenna(['status', 'basic.yaml', '--json']);
    expect(Object.values(states(after.stdout))).toEqual(['cached', 'cached', 'cached', 'cached']);
  });
});

describe('no run waits for ever', () => {
  it('takes over an empty lock, waits on a live holder saying who it is, and gives up after --lock-timeout with exit 2', async () => {
    const ws = await makeWorkspace();
    // What a SIGKILL between creating the lock and writing it left.
    await writeFile(join(ws.dir, 'basic.lock.json.lck'), '');
    const run = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(existsSync(join(ws.dir, 'basic.lock.json.lck'))).toBe(false);

    const holder = liveProcess();
    try {
      const lck = join(ws.dir, 'basic.lock.json.lck');
      await writeFile(lck, JSON.stringify({ host: hostname(), pid: holder.pid, start: startTime(holder.pid), boot: null, since: '2025-01-01T00:00:00.000Z', what: 'lenna run basic.yaml' }));
      await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 4'));
      const blocked = await ws.lenna(['run', 'basic.yaml', '--lock-timeout', '2']);
      expect(blocked.exitCode).toBe(2);
      expect(blocked.stderr).toMatch(new RegExp(`lenna: waiting for the lock file basic\\.lock\\.json \\(.*\\), held by pid ${holder.pid} on host .* \\(lenna run basic\\.yaml\\)`));
      expect(blocked.stderr).toMatch(/lenna: stage right failed: gave up after 2 s waiting for the lock file basic\.lock\.json/);
      expect(blocked.stderr).not.toMatch(/internal error|\n\s+at /);

      // SIGTERM ends a waiting run within 2 s.
      await ws.edit('basic.yaml', (t) => t.replace('factor: 4', 'factor: 5'));
      const child = ws.spawn(['run', 'basic.yaml']);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      expect(await eventually(() => /waiting for the lock file/.test(err), 60_000)).toBe(true);
      const sent = Date.now();
      child.kill('SIGTERM');
      const result = await child;
      expect(Date.now() - sent).toBeLessThan(2000);
      expect(result.exitCode).toBe(143);
    } finally {
      holder.stop();
    }
  });

  it('fails a stage that runs past its timeout: "timed out after N s", its scratch kept', async () => {
    const ws = await makeWorkspace();
    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 3\n      sleepMs: 60000\n    timeout: 1'));
    const run = await ws.lenna(['run', 'basic.yaml', '--json']);
    expect(run.exitCode).toBe(1);
    const right = byId(run.stdout).right;
    expect(right.state).toBe('failed');
    expect(right.reasons[0]).toMatch(/^timed out after 1 s \(the pipeline's timeout for this stage\); its scratch folder is kept/);
    expect((await readdir(join(ws.store, 'scratch'))).length).toBe(1);
    expect(processesMentioning(ws.store)).toEqual([]);
    await ws.edit('basic.yaml', (t) => t.replace('timeout: 1', 'timeout: -1'));
    expect((await ws.lenna(['run', 'basic.yaml'])).stderr).toMatch(/^lenna: basic\.yaml:\d+: stages\.right\.timeout: give the timeout in seconds/);
  });
});

describe.skipIf(process.platform !== 'linux')('no stage outlives its runner', () => {
  it('after SIGKILL of lenna run, every stage process it started is gone within 10 s, the one paused for a timing too', async () => {
    const ws = await makeWorkspace();
    await ws.edit('hold.yaml', (t) => t.replace('ms: 1800', 'ms: 60000').replace('holdMs: 500', 'holdMs: 60000'));
    const ticks = join(ws.dir, 'ticks.txt');
    await writeFile(ticks, '');
    const run = ws.spawn(['run', 'hold.yaml', '--jobs', '2'], { LENNA_FIXTURE_TICKS: ticks, LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') });
    const logs = join(ws.store, 'logs');
    const holding = async () => (await readdir(logs).catch(() => [] as string[])).some((f) => f.startsWith('hold-') && readFileSync(join(logs, f), 'utf8').includes('holds the machine'));
    expect(await eventually(holding, 60_000)).toBe(true);
    const stages = processesMentioning(ws.store);
    expect(stages).toHaveLength(2);
    const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
    expect(stages.map(stateOf)).toContain('T');
    run.kill('SIGKILL');
    await run;
    const killed = Date.now();
    expect(await eventually(() => processesMentioning(ws.store).length === 0, 10_000)).toBe(true);
    expect(Date.now() - killed).toBeLessThan(10_000);

    // The next run cleans what the crash left, and the machine lock the dead run held is taken over.
    await ws.edit('hold.yaml', (t) => t.replace('ms: 60000', 'ms: 300').replace('holdMs: 60000', 'holdMs: 200').replace('waitMs: 600', 'waitMs: 100'));
    const next = await ws.lenna(['run', 'hold.yaml'], { env: { LENNA_FIXTURE_TICKS: ticks, LENNA_TIMING_LOCK: join(ws.dir, 'timing.lock') } });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await readdir(join(ws.store, 'tmp'))).toEqual([]);
  });

  it("a run's cleanup leaves a live run's staging folder alone, however old it looks, and gc leaves its store alone", async () => {
    const ws = await makeWorkspace();
    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 3\n      sleepMs: 6000'));
    const slow = ws.spawn(['run', 'basic.yaml', '--jobs', '1']);
    let out = '';
    slow.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => /right: started/.test(out), 60_000)).toBe(true);
    const staging = await readdir(join(ws.store, 'tmp'));
    expect(staging).toHaveLength(1);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(ws.store, 'tmp', staging[0]), twoDaysAgo, twoDaysAgo);
    expect((await ws.lenna(['run', 'dup.yaml'])).exitCode).toBe(0);
    expect(await readdir(join(ws.store, 'tmp'))).toContain(staging[0]);
    // Nor does gc touch a store a run is using.
    const gc = await ws.lenna(['gc']);
    expect([gc.exitCode, gc.stderr]).toEqual([2, expect.stringMatching(/^lenna: lenna gc: pid \d+ on host .* \(lenna run basic\.yaml --jobs 1\) since .* is using the store .*; run gc once it has ended\.$/)]);
    expect((await slow).exitCode).toBe(0);
    expect(await readdir(join(ws.store, 'tmp'))).toEqual([]);
  });
});

describe('one timing at a time per machine', () => {
  it('two runs on two stores never hold the machine at the same moment', async () => {
    const [a, b] = [await makeWorkspace(), await makeWorkspace()];
    const lock = join(a.dir, 'timing.lock');
    const runs = await Promise.all([a, b].map((ws) => ws.lenna(['run', 'measure.yaml', '--json'], { env: { LENNA_TIMING_LOCK: lock } })));
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    const windows: [number, number][] = [];
    for (const ws of [a, b]) {
      const log = (await readdir(join(ws.store, 'logs'))).find((f) => f.startsWith('timing-')) as string;
      const text = await readFile(join(ws.store, 'logs', log), 'utf8');
      windows.push([Number(/holds the machine from (\d+)/.exec(text)?.[1]), Number(/releases the machine at (\d+)/.exec(text)?.[1])]);
    }
    expect(windows.every(([from, to]) => to - from >= 1500)).toBe(true);
    const [[a0, a1], [b0, b1]] = windows;
    expect(a1 <= b0 || b1 <= a0, `windows ${JSON.stringify(windows)} overlap`).toBe(true);
  });
});

describe('a read-only store', () => {
  it.skipIf(process.platform !== 'linux')('serves status and show; run exits 2 with one sentence naming the path', async () => {
    const ws = await makeWorkspace();
    const joinId = byId((await ws.lenna(['run', 'basic.yaml', '--json'])).stdout).join.outputs.data;
    let undo: () => void;
    if (isRoot) {
      try {
        execFileSync('mount', ['--bind', ws.store, ws.store], { stdio: 'ignore' });
        execFileSync('mount', ['-o', 'remount,bind,ro', ws.store], { stdio: 'ignore' });
      } catch {
        process.stdout.write('SKIPPED read-only store test: cannot bind-mount as root here (needs CAP_SYS_ADMIN)\n');
        if (process.env.LENNA_REQUIRE_MOUNT === '1') throw new Error('LENNA_REQUIRE_MOUNT=1: the read-only store test needs mount');
        return;
      }
      undo = () => execFileSync('umount', [ws.store]);
    } else {
      execFileSync('chmod', ['-R', 'a-w', ws.store]);
      undo = () => execFileSync('chmod', ['-R', 'u+w', ws.store]);
    }
    try {
      // Even with every stamp gone stale (ctime changed by the remount/chmod), reading needs no write.
      const status = await ws.lenna(['status', 'basic.yaml', '--json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(Object.values(states(status.stdout))).toEqual(['cached', 'cached', 'cached', 'cached']);
      const show = await ws.lenna(['show', joinId, '--json']);
      expect(JSON.parse(show.stdout).files['data.json'].value).toEqual([5, 10, 15]);
      await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 4'));
      const run = await ws.lenna(['run', 'basic.yaml']);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^lenna: (${ws.store}.* is on a read-only file system; set LENNA_STORE to a writable folder .*\\(EROFS\\)|permission denied on ${ws.store}.*\\(EACCES\\))\\.$`));
    } finally {
      undo();
    }
  });
});
