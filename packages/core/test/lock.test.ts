import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireFileLock,
  currentHolder,
  holderLiveness,
  InterruptedError,
  isRunning,
  listRunRecords,
  processIsLive,
  processStartTime,
  readLockHolder,
  registeredLockFiles,
  registerLockFile,
  RunLog,
  runRecordIds,
  UserError,
  withFileLock,
  type Holder,
} from '../src/index.js';

const run = promisify(execFile);

/** A process that has exited, as a holder: what a crashed lenna leaves in its lock file. */
async function deadHolder(): Promise<Holder> {
  const { stdout } = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return { ...currentHolder('a crashed run'), pid: Number(stdout) };
}

/** A live process that holds a lock until killed. */
function sleeper(): { pid: number; stop(): void } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  return { pid: child.pid as number, stop: () => child.kill('SIGKILL') };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenna-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('holder', () => {
  it.skipIf(!existsSync('/proc/self/stat'))('reads a process start time from /proc/<pid>/stat field 22', async () => {
    const text = await readFile(`/proc/${process.pid}/stat`, 'utf8');
    expect(processStartTime(process.pid)).toBe(Number(text.split(' ')[21]));
    expect(processIsLive(process.pid, processStartTime(process.pid))).toBe(true);
    // Same pid, another start time: the pid was handed to another process.
    expect(processIsLive(process.pid, (processStartTime(process.pid) as number) + 1)).toBe(false);
  });

  it('judges this process live, an exited one dead, and one of another host unknown', async () => {
    expect(holderLiveness(currentHolder())).toBe('live');
    expect(holderLiveness(await deadHolder())).toBe('dead');
    expect(holderLiveness({ ...currentHolder(), host: `not-${hostname()}` })).toBe('unknown');
  });
});

describe('file lock', () => {
  it('is held by one at a time and records host, pid and start time', async () => {
    const path = join(dir, 'x.lck');
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        withFileLock(path, { what: 'x' }, async () => {
          order.push(`${name} in`);
          const holder = await readLockHolder(path);
          expect(holder).toMatchObject({ host: hostname(), pid: process.pid, start: processStartTime(process.pid) });
          await new Promise((r) => setTimeout(r, 20));
          order.push(`${name} out`);
        }),
      ),
    );
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i].replace(' in', ' out'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over an empty, a torn and a dead holder\'s lock at once', async () => {
    const path = join(dir, 'x.lck');
    for (const content of ['', '{"host":', JSON.stringify(await deadHolder())]) {
      await writeFile(path, content);
      // An empty lock just made may be one being written where hard links are missing: older, it is debris.
      await utimes(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const started = Date.now();
      const lock = await acquireFileLock(path, { what: 'x', timeoutMs: 5000 });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await readLockHolder(path)).toMatchObject({ pid: process.pid });
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
    // A fresh empty one is taken over after a short grace.
    await writeFile(path, '');
    const started = Date.now();
    await (await acquireFileLock(path, { what: 'x', timeoutMs: 10_000 })).release();
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('waits on a live holder, says who it is, and gives up after the timeout with a UserError', async () => {
    const path = join(dir, 'x.lck');
    const other = sleeper();
    try {
      await writeFile(path, JSON.stringify({ ...currentHolder('lenna run other.yaml'), pid: other.pid, start: processStartTime(other.pid) }));
      const told: string[] = [];
      const error = await acquireFileLock(path, { what: 'the test lock', timeoutMs: 600, reportAfterMs: 100, onWait: (m) => told.push(m) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(new RegExp(`^gave up after \\d+ s waiting for the test lock \\(.*x\\.lck\\), held by pid ${other.pid} on host .* \\(lenna run other\\.yaml\\) since .*; stop that process`));
      expect(told).toEqual([expect.stringMatching(new RegExp(`^waiting for the test lock .*held by pid ${other.pid}`))]);
      // A holder on another host cannot be probed: live until the timeout, and the message says why.
      await writeFile(path, JSON.stringify({ ...currentHolder(), host: 'elsewhere' }));
      await expect(acquireFileLock(path, { what: 'x', timeoutMs: 200 })).rejects.toThrow(/another host: lenna cannot tell whether it still runs/);
    } finally {
      other.stop();
    }
  });

  it('stops waiting at once when its signal aborts', async () => {
    const path = join(dir, 'x.lck');
    await writeFile(path, JSON.stringify(currentHolder()));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(acquireFileLock(path, { what: 'x', signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fair: a holder that takes the lock again and again lets a waiter in between', async () => {
    const path = join(dir, 'x.lck');
    const log: string[] = [];
    let stop = false;
    const greedy = (async () => {
      while (!stop) await withFileLock(path, { what: 'x', fair: true }, async () => void log.push('greedy'));
    })();
    await new Promise((r) => setTimeout(r, 20));
    await withFileLock(path, { what: 'x', fair: true, timeoutMs: 2000 }, async () => void log.push('waiter'));
    stop = true;
    await greedy;
    expect(log).toContain('waiter');
  });
});

describe('run records and the lock-file registry', () => {
  it('records what a run produced as it goes, drops an empty one, and lists the ids it references', async () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const log = await RunLog.start(dir, { kind: 'run', command: 'lenna run x.yaml', lockFile: join(dir, 'x.lock.json') });
    let [stored] = await listRunRecords(dir);
    expect(stored.record && isRunning(stored.record)).toBe(true);
    await log.add('scale@factor=7', { stage: 'double', key: 'k1', inputs: { data: a }, outputs: { data: b } });
    await log.add('__proto__', { stage: 'double', key: 'k2', inputs: {}, outputs: { data: b } });
    await log.finish();
    [stored] = await listRunRecords(dir);
    expect(stored.record?.finishedAt).toBeDefined();
    expect(isRunning(stored.record!)).toBe(false);
    expect(Object.keys(stored.record!.instances)).toEqual(['scale@factor=7', '__proto__']);
    expect(runRecordIds(stored.record!).sort()).toEqual([a, b]);
    const empty = await RunLog.start(dir, { kind: 'run', command: 'lenna run y.yaml' });
    await empty.finish();
    expect(await listRunRecords(dir)).toHaveLength(1);
  });

  it('remembers each lock file once', async () => {
    await registerLockFile(dir, 'pipelines/a.lock.json');
    await registerLockFile(dir, 'pipelines/a.lock.json');
    await registerLockFile(dir, '/elsewhere/b.lock.json');
    expect(await registeredLockFiles(dir)).toEqual(['/elsewhere/b.lock.json', join(process.cwd(), 'pipelines/a.lock.json')].sort());
  });
});
