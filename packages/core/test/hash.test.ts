import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, hashDirectory, hashFile, sha256Hex } from '../src/index.js';

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('keeps array positions (undefined in an array becomes null, as JSON.stringify does)', () => {
    expect(canonicalJson([1, undefined, 'a'])).toBe('[1,null,"a"]');
  });

  it('rejects numbers JSON cannot represent, naming where they are', () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/\$\.a\[1\] is NaN/);
    expect(() => canonicalJson({ x: Infinity })).toThrow(/Infinity/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });

  it('is independent of key insertion order and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const shuffled = JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
          v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        ) as unknown;
        expect(canonicalJson(shuffled)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vector for "abc"', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });
});

describe('hashFile and hashDirectory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lenna-hash-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes files of every size, across the read-chunk boundary, like a one-shot hash', async () => {
    for (const size of [0, 1, 4 * 1024 * 1024 - 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 3]) {
      const bytes = randomBytes(size);
      const path = join(dir, `f${size}`);
      await writeFile(path, bytes);
      expect(await hashFile(path)).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('changes when a file is renamed or edited, and honours excludes', async () => {
    await mkdir(join(dir, 'src', 'sub'), { recursive: true });
    await writeFile(join(dir, 'src', 'a.js'), 'a');
    await writeFile(join(dir, 'src', 'sub', 'b.js'), 'b');
    const first = await hashDirectory(dir);
    expect(await hashDirectory(dir)).toBe(first);
    await rename(join(dir, 'src', 'a.js'), join(dir, 'src', 'c.js'));
    const renamed = await hashDirectory(dir);
    expect(renamed).not.toBe(first);
    await writeFile(join(dir, 'src', 'sub', 'b.js'), 'B');
    const edited = await hashDirectory(dir);
    expect(edited).not.toBe(renamed);
    await writeFile(join(dir, 'src', 'x.map'), 'ignored');
    await mkdir(join(dir, 'node_modules'));
    await writeFile(join(dir, 'node_modules', 'y.js'), 'ignored');
    expect(await hashDirectory(dir, { exclude: ['*.map', 'node_modules'] })).toBe(edited);
    expect(await hashDirectory(dir)).not.toBe(edited);
  });
});
