import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '@lenna/core';
import { cacheKeyOf } from '../src/cache-key.js';
import { formatLockFile, readLockFile, updateLockFile, type LockEntry } from '../src/lockfile.js';
import { ExclusiveLock } from '../src/exclusive.js';

const parts = { stage: 's', version: 1, code: 'c0de', params: { a: 1, b: [1, 2] }, inputs: { x: 'id1' } };

describe('cache key', () => {
  it('is sha256 of the canonical JSON of exactly the documented parts', () => {
    const expected = sha256Hex('{"code":"c0de","inputs":{"x":"id1"},"params":{"a":1,"b":[1,2]},"stage":"s","version":1}');
    expect(cacheKeyOf(parts)).toBe(expected);
    expect(cacheKeyOf({ ...parts, params: { b: [1, 2], a: 1 } })).toBe(expected);
  });

  it('changes with each part, and the environment counts only when given', () => {
    const base = cacheKeyOf(parts);
    const variants = [
      { ...parts, stage: 't' },
      { ...parts, version: 2 },
      { ...parts, code: 'c0df' },
      { ...parts, params: { a: 2, b: [1, 2] } },
      { ...parts, inputs: { x: 'id2' } },
      { ...parts, external: 'cifar-abc' },
      { ...parts, env: { cpu: 'x' } },
    ].map(cacheKeyOf);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(cacheKeyOf({ ...parts, env: undefined, external: undefined })).toBe(base);
  });
});

describe('lock file', () => {
  const entry = (key: string): LockEntry => ({ stage: 's', version: 1, code: 'c', key, params: { z: 1, a: 2 }, inputs: {}, outputs: { o: 'id' } });

  it('is written with sorted keys, 2-space indent and a trailing newline', () => {
    const text = formatLockFile({ stages: { b: entry('k2'), a: entry('k1') }, pipeline: 'p' });
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b"'));
    expect(text).toContain('\n  "pipeline": "p"');
    expect(text.indexOf('"a": 2')).toBeLessThan(text.indexOf('"z": 1'));
    expect(JSON.parse(text)).toEqual({ pipeline: 'p', stages: { a: entry('k1'), b: entry('k2') } });
  });

  it('keeps every concurrent update (read-modify-write under a lock)', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lenna-lock-')), 'p.lock.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => updateLockFile(path, 'p', (lock) => void (lock.stages[`s${i}`] = entry(`k${i}`)))));
    const lock = await readLockFile(path);
    expect(Object.keys(lock?.stages ?? {})).toHaveLength(20);
    expect(canonicalJson(JSON.parse(await readFile(path, 'utf8')))).toBe(canonicalJson(lock));
    await rm(join(path, '..'), { recursive: true, force: true });
  });
});

describe('exclusive grant', () => {
  it('serves one holder at a time, first come first served, and forgets a dead owner', async () => {
    const lock = new ExclusiveLock();
    const order: string[] = [];
    await lock.acquire('a');
    const b = lock.acquire('b').then(() => order.push('b'));
    const c = lock.acquire('c').then(() => order.push('c'));
    await Promise.resolve();
    expect(order).toEqual([]);
    lock.release('a');
    await b;
    expect(order).toEqual(['b']);
    lock.forget('b');
    await c;
    expect(order).toEqual(['b', 'c']);
    lock.release('c');
    expect(lock.held).toBe(false);
  });

  it('pauses every other running stage while one holds it, and resumes them at release', async () => {
    const lock = new ExclusiveLock();
    const events: string[] = [];
    const process = (name: string) => ({ pause: () => events.push(`${name} paused`), resume: () => events.push(`${name} resumed`) });
    const untrackA = lock.track('a', process('a'));
    lock.track('b', process('b'));
    lock.track('c', process('c'));
    expect(events).toEqual([]);
    await lock.acquire('a');
    expect(events.splice(0)).toEqual(['b paused', 'c paused']);
    await lock.acquire('a'); // re-entrant: nothing more happens
    const d = lock.track('d', process('d')); // started meanwhile: paused at once
    expect(events.splice(0)).toEqual(['d paused']);
    const b = lock.acquire('b');
    lock.release('a');
    expect(events).toEqual([]);
    lock.release('a');
    await b;
    // b takes over: b resumes, a pauses, c and d stay paused.
    expect(events.splice(0)).toEqual(['b resumed', 'a paused']);
    d(); // d's process ended
    expect(events.splice(0)).toEqual(['d resumed']);
    lock.release('b');
    expect(events.splice(0).sort()).toEqual(['a resumed', 'c resumed']);
    untrackA();
    expect(events).toEqual([]);
  });

  it('takes the machine-wide timing lock with each grant: a second runner waits until the first releases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenna-timing-'));
    const saved = process.env.LENNA_TIMING_LOCK;
    process.env.LENNA_TIMING_LOCK = join(dir, 'timing.lock');
    try {
      const [one, two] = [new ExclusiveLock({ machine: {} }), new ExclusiveLock({ machine: {} })];
      await one.acquire('a');
      expect(JSON.parse(await readFile(join(dir, 'timing.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
      let second = false;
      const waiting = two.acquire('b').then(() => (second = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(second).toBe(false);
      one.release('a');
      await waiting;
      expect(second).toBe(true);
      two.release('b');
      await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(join(dir, 'timing.lock'))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.LENNA_TIMING_LOCK;
      else process.env.LENNA_TIMING_LOCK = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a grant whose machine lock wait times out, and serves the next waiter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenna-timing-'));
    const saved = process.env.LENNA_TIMING_LOCK;
    process.env.LENNA_TIMING_LOCK = join(dir, 'timing.lock');
    try {
      const holder = new ExclusiveLock({ machine: {} });
      await holder.acquire('a');
      const impatient = new ExclusiveLock({ machine: { timeoutMs: 200 } });
      await expect(impatient.acquire('b')).rejects.toThrow(/gave up after 0 s waiting for the machine-wide timing lock/);
      expect(impatient.held).toBe(false);
      holder.release('a');
      await impatient.acquire('c');
      expect(impatient.held).toBe(true);
      impatient.release('c');
    } finally {
      if (saved === undefined) delete process.env.LENNA_TIMING_LOCK;
      else process.env.LENNA_TIMING_LOCK = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resumes everyone and pauses no one once stopped (interrupt, end of run)', async () => {
    const lock = new ExclusiveLock();
    const events: string[] = [];
    lock.track('b', { pause: () => events.push('b paused'), resume: () => events.push('b resumed') });
    await lock.acquire('a');
    lock.stop();
    expect(events).toEqual(['b paused', 'b resumed']);
    lock.track('c', { pause: () => events.push('c paused'), resume: () => events.push('c resumed') });
    expect(events).toEqual(['b paused', 'b resumed']);
  });
});
