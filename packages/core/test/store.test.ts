import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactStore,
  CorruptArtifactError,
  hashFileDigests,
  resolveStoreRoot,
  sha256Hex,
  tableFromRows,
  writeArrowFile,
  type CommitInfo,
} from '../src/index.js';

const run = promisify(execFile);

/** Writes into a committed (read-only) file, as a user with write access or a faulty disk would. */
async function tamper(file: string, data: string): Promise<void> {
  await chmod(dirname(file), 0o755);
  await chmod(file, 0o644).catch(() => undefined);
  await writeFile(file, data);
}

/** The owner tag of a process that has exited: what a crashed run leaves in its temp names. */
async function deadOwnerTag(): Promise<string> {
  const child = await run(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))']).catch(() => undefined);
  const stat = child?.stdout ?? '';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pid = Number(stat.split(' ')[0]) || 999_999;
  return `~${hostname().replace(/[^A-Za-z0-9-]+/g, '-').slice(0, 40)}+${pid}+${fields[19] ?? 0}~`;
}
const here = dirname(fileURLToPath(import.meta.url));
const info: CommitInfo = { kind: 'files', stage: 'test-stage', output: 'out', cacheKey: 'key1', params: { a: 1 }, inputs: {} };

describe('ArtifactStore', () => {
  let root: string;
  let store: ArtifactStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lenna-store-'));
    store = new ArtifactStore(join(root, 'artifacts'));
  });
  afterEach(async () => {
    await run('chmod', ['-R', 'u+w', root]);
    await rm(root, { recursive: true, force: true });
  });

  async function stage(files: Record<string, string>, where?: string): Promise<string> {
    const dir = where ?? (await store.createStaging('t'));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  it('commits files under objects/<id> with a full manifest; the id is the hash of names and bytes', async () => {
    const dir = await stage({ 'a.txt': 'hello', 'sub/b.txt': 'world' });
    const manifest = await store.commit(dir, info);
    const expectedId = hashFileDigests([
      { name: 'a.txt', size: 5, sha256: sha256Hex('hello') },
      { name: 'sub/b.txt', size: 5, sha256: sha256Hex('world') },
    ]);
    expect(manifest.id).toBe(expectedId);
    expect(manifest).toMatchObject({ formatVersion: 1, kind: 'files', stage: 'test-stage', cacheKey: 'key1', params: { a: 1 } });
    expect(manifest.files['sub/b.txt']).toEqual({ sha256: sha256Hex('world'), size: 5 });
    expect(existsSync(dir)).toBe(false);
    const onDisk = JSON.parse(await readFile(join(store.objectDir(manifest.id), 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(manifest);
    const opened = await store.open(manifest.id);
    expect(opened?.files).toEqual(['a.txt', 'sub/b.txt']);
    expect(await store.list()).toEqual([manifest.id]);
    expect((await store.verify(manifest.id)).ok).toBe(true);
  });

  it('gives a different id when a file is renamed, and the same id from a folder outside the store', async () => {
    const a = await store.commit(await stage({ 'x.txt': 'same' }), info);
    const b = await store.commit(await stage({ 'y.txt': 'same' }), info);
    expect(b.id).not.toBe(a.id);
    const outside = join(root, 'outside');
    const c = await store.commit(await stage({ 'x.txt': 'same' }, outside), { ...info, stage: 'other' });
    expect(c.id).toBe(a.id);
    expect(c.stage).toBe('test-stage'); // second commit of the same id is a no-op: the first manifest stays
    expect(existsSync(outside)).toBe(false);
  });

  it('records the Arrow schema of table files', async () => {
    const dir = await store.createStaging('table');
    await writeArrowFile(join(dir, 'rows.arrow'), tableFromRows([{ name: 'a', v: 1.5 }]));
    const manifest = await store.commit(dir, { ...info, kind: 'arrow' });
    expect(manifest.schemas).toEqual({ 'rows.arrow': [{ name: 'name', type: 'Utf8' }, { name: 'v', type: 'Float64' }] });
  });

  it('refuses empty folders and a file named manifest.json', async () => {
    await expect(store.commit(await store.createStaging('empty'), info)).rejects.toThrow(/holds no files/);
    await expect(store.commit(await stage({ 'manifest.json': '{}' }), info)).rejects.toThrow(/reserved/);
  });

  it('open() trusts the stat stamp (no re-hash) while nothing wrote to the files; verify() always re-hashes', async () => {
    const { id } = await store.commit(await stage({ 'data.bin': 'aaaa' }), info);
    const stampFile = join(store.root, 'verified', `${id}.json`);
    const stamp = JSON.parse(await readFile(stampFile, 'utf8'));
    expect(Object.keys(stamp['data.bin']).sort()).toEqual(['ctimeMs', 'ino', 'mtimeMs', 'size']);
    // A stamp that claims other bytes' stat forces a re-hash, which finds the content whole and re-stamps.
    await writeFile(stampFile, JSON.stringify({ ...stamp, 'data.bin': { ...stamp['data.bin'], ctimeMs: 1 } }));
    expect((await store.open(id))?.id).toBe(id);
    expect(JSON.parse(await readFile(stampFile, 'utf8'))).toEqual(stamp);
    expect((await store.verify(id)).ok).toBe(true);
  });

  it('open() catches a byte flipped in place with size and mtime put back (ctime changed)', async () => {
    const { id } = await store.commit(await stage({ 'data.bin': 'aaaa' }), info);
    const file = join(store.objectDir(id), 'data.bin');
    // A whole-second mtime can be put back exactly; verify() records the stamp with it.
    await utimes(file, 1_700_000_000, 1_700_000_000);
    expect((await store.verify(id)).ok).toBe(true);
    const before = await stat(file);
    await tamper(file, 'abaa');
    await utimes(file, 1_700_000_000, 1_700_000_000);
    const after = await stat(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    await expect(store.open(id)).rejects.toThrow(/data\.bin has sha256/);
  });

  it('open() and verify() catch a manifest edited into other valid JSON (the manifest is not part of the id)', async () => {
    const { id } = await store.commit(await stage({ 'a.txt': 'a' }), info);
    const path = join(store.objectDir(id), 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    await tamper(path, JSON.stringify({ ...manifest, instance: 'someone-else' }, null, 2) + '\n');
    await expect(store.open(id)).rejects.toThrow(/manifest\.json changed since the object was committed/);
    expect(await store.verify(id)).toMatchObject({ ok: false, problem: 'manifest.json changed since the object was committed' });
  });

  it('commits read-only files and folders; remove() and quarantine() still work on them', async () => {
    const { id } = await store.commit(await stage({ 'a.txt': 'a', 'sub/b.txt': 'b' }), info);
    const dir = store.objectDir(id);
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect([await mode(join(dir, 'a.txt')), await mode(join(dir, 'sub/b.txt')), await mode(join(dir, 'manifest.json'))]).toEqual([0o444, 0o444, 0o444]);
    expect([await mode(dir), await mode(join(dir, 'sub'))]).toEqual([0o555, 0o555]);
    await store.remove(id);
    expect(existsSync(dir)).toBe(false);
    expect(await readdir(join(store.root, 'tmp'))).toEqual([]);
  });

  it('quarantine() moves a corrupt object aside with a note; a re-commit of its bytes clears the note', async () => {
    const { id } = await store.commit(await stage({ 'a.txt': 'a' }), info);
    await tamper(join(store.objectDir(id), 'a.txt'), 'x');
    const result = await store.verify(id);
    expect(result).toMatchObject({ ok: false, problem: expect.stringMatching(/a\.txt has sha256/) });
    const note = await store.quarantine(id, result.problem as string);
    expect(note).toMatchObject({ id, problem: result.problem });
    expect(await store.open(id)).toBeUndefined();
    expect(await store.quarantineNote(id)).toEqual(note);
    expect(await readFile(join(note!.folder, 'a.txt'), 'utf8')).toBe('x');
    expect(await store.list()).toEqual([]);
    expect((await store.commit(await stage({ 'a.txt': 'a' }), info)).id).toBe(id);
    expect(await store.quarantineNote(id)).toBeUndefined();
    expect(await store.listQuarantine()).toEqual([note!.folder]);
  });

  it('a commit that fails before the object is in place gives the files back to the folder they came from', async () => {
    const dir = await stage({ 'a.txt': 'a' });
    await writeFile(join(store.root, 'objects'), 'not a folder');
    await expect(store.commit(dir, info)).rejects.toThrow(/EEXIST|ENOTDIR/);
    expect(await readdir(dir)).toEqual(['a.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('a');
    await rm(join(store.root, 'objects'));
    const { id } = await store.commit(dir, info);
    expect((await store.verify(id)).ok).toBe(true);
  });

  it('open() reports a file edited in place (mtime bumped) as corrupt, by id', async () => {
    const { id } = await store.commit(await stage({ 'data.bin': 'aaaa' }), info);
    const file = join(store.objectDir(id), 'data.bin');
    await tamper(file, 'abcd');
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    const error = await store.open(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptArtifactError);
    expect((error as CorruptArtifactError).id).toBe(id);
    expect((error as Error).message).toContain(id);
  });

  it('open() reports a changed size or a missing file as corrupt; a re-commit replaces the corrupt object', async () => {
    const { id } = await store.commit(await stage({ 'data.bin': 'aaaa', 'other.txt': 'o' }), info);
    await tamper(join(store.objectDir(id), 'data.bin'), 'aaaaa');
    await expect(store.open(id)).rejects.toThrow(/data\.bin has 5 bytes, the manifest says 4/);
    await rm(join(store.objectDir(id), 'other.txt'));
    await expect(store.open(id)).rejects.toBeInstanceOf(CorruptArtifactError);
    const again = await store.commit(await stage({ 'data.bin': 'aaaa', 'other.txt': 'o' }), info);
    expect(again.id).toBe(id);
    expect((await store.open(id))?.id).toBe(id);
    expect((await store.verify(id)).ok).toBe(true);
  });

  it('verify() notices files the manifest does not list and a broken manifest', async () => {
    const { id } = await store.commit(await stage({ 'a.txt': 'a' }), info);
    await tamper(join(store.objectDir(id), 'extra.txt'), 'x');
    expect((await store.verify(id)).problem).toMatch(/does not list: extra\.txt/);
    await tamper(join(store.objectDir(id), 'manifest.json'), '{not json');
    await expect(store.open(id)).rejects.toThrow(/manifest\.json is not valid JSON/);
    expect(await store.verify('0'.repeat(64))).toEqual({ id: '0'.repeat(64), ok: false, problem: 'not in the store' });
  });

  it('two processes committing the same content at once both succeed and leave one valid object', async () => {
    const child = join(here, 'fixtures', 'commit-child.mjs');
    const startAt = String(Date.now() + 700);
    const results = await Promise.all([0, 1].map(() => run(process.execPath, [child, store.root, startAt])));
    const ids = results.map((r) => r.stdout.trim());
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(await store.list()).toEqual([ids[0]]);
    expect((await store.verify(ids[0])).ok).toBe(true);
    expect(await readdir(join(store.root, 'tmp'))).toEqual([]);
  });

  it("leftovers of a crashed process never appear as objects; cleanTmp removes a dead owner's at once and keeps a live one's", async () => {
    const live = await stage({ 'half.bin': 'partial' });
    await writeFile(join(live, 'manifest.json'), '{}');
    const gone = await deadOwnerTag();
    const dead = join(store.root, 'tmp', `commit-abc-${gone}0a0b`);
    await cp(live, dead, { recursive: true });
    const untagged = join(store.root, 'tmp', 'foreign-folder');
    await mkdir(untagged);
    await mkdir(join(store.root, 'cache'), { recursive: true });
    const deadTemp = join(store.root, 'cache', `k.json.tmp-${gone}ff`);
    await writeFile(deadTemp, '{');
    expect(await store.list()).toEqual([]);
    await store.cleanTmp(60_000);
    expect([existsSync(live), existsSync(dead), existsSync(untagged), existsSync(deadTemp)]).toEqual([true, false, true, false]);
    await store.cleanTmp(0);
    // A live owner's folder stays whatever its age; one without an owner goes once old enough.
    expect([existsSync(live), existsSync(untagged)]).toEqual([true, false]);
  });

  it('remove() deletes an object; open() of an unknown id is undefined', async () => {
    const { id } = await store.commit(await stage({ 'a.txt': 'a' }), info);
    await store.remove(id);
    expect(await store.list()).toEqual([]);
    expect(await store.open(id)).toBeUndefined();
    expect(await store.open('not-an-id')).toBeUndefined();
  });

  it('stores cache records atomically and reads them back', async () => {
    const record = { cacheKey: 'abc123', stage: 's', outputs: { out: 'f'.repeat(64) }, params: { x: 1 }, inputs: {}, finishedAt: new Date().toISOString(), seconds: 1.5 };
    expect(await store.readCacheRecord('abc123')).toBeUndefined();
    await store.writeCacheRecord(record);
    expect(await store.readCacheRecord('abc123')).toEqual(record);
    await expect(store.writeCacheRecord({ ...record, cacheKey: '../escape' })).rejects.toThrow(/not a usable cache key/);
  });

  it('keeps scratch folders until removed, and logsDir exists', async () => {
    const scratch = await store.scratchDir('key9');
    await writeFile(join(scratch, 'ckpt'), '1');
    expect(await store.scratchDir('key9')).toBe(scratch);
    expect(existsSync(join(scratch, 'ckpt'))).toBe(true);
    await store.removeScratch('key9');
    expect(existsSync(scratch)).toBe(false);
    expect(existsSync(store.logsDir())).toBe(true);
  });
});

describe('resolveStoreRoot', () => {
  it('uses LENNA_STORE relative to cwd, else <cwd>/artifacts', () => {
    const saved = process.env.LENNA_STORE;
    try {
      delete process.env.LENNA_STORE;
      expect(resolveStoreRoot('/w')).toBe('/w/artifacts');
      process.env.LENNA_STORE = 'elsewhere/store';
      expect(resolveStoreRoot('/w')).toBe('/w/elsewhere/store');
      process.env.LENNA_STORE = '/abs/store';
      expect(resolveStoreRoot('/w')).toBe('/abs/store');
    } finally {
      if (saved === undefined) delete process.env.LENNA_STORE;
      else process.env.LENNA_STORE = saved;
    }
  });
});
