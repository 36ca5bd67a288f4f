import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, isUserError, sha256Hex, type Manifest } from '@lenna/core';
import { exportArtifacts, lockFileReferences } from '../src/archive/export.js';
import { importArtifacts } from '../src/archive/import.js';
import { bytesEntry, writeTarFile } from '../src/archive/tar.js';
import { rawTar, rawTarHeader } from './support/raw-tar.mjs';

const LONG_NAME = `nested/${'a-rather-long-file-name-'.repeat(3)}end.txt`;
let work: string;
let source: ArtifactStore;
let ids: string[];
let cacheKey: string;
let otherKey: string;
let lockFile: string;

async function commitFiles(store: ArtifactStore, files: Record<string, string>, output: string): Promise<Manifest> {
  const dir = await mkdtemp(join(work, 'src-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return store.commit(dir, { kind: 'files', stage: 'fake', output, instance: 'fake@lambda=0.1', cacheKey, params: { lambda: 0.1 }, inputs: {} });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lenna-archive-'));
  source = new ArtifactStore(join(work, 'store-a'));
  cacheKey = sha256Hex('fake cache key');
  const a = await commitFiles(source, { 'metrics.json': '{"test_acc":0.9}\n', 'metrics.csv': 'a,b\n1,2\n' }, 'metrics');
  // A nested path longer than ustar's 100-byte name field: needs the PAX path record.
  const b = await commitFiles(source, { 'weights.bin': 'x'.repeat(1500), [LONG_NAME]: 'deep\n' }, 'weights');
  ids = [a.id, b.id].sort();
  await source.writeCacheRecord({ cacheKey, stage: 'fake', outputs: { metrics: a.id, weights: b.id }, params: { lambda: 0.1 }, inputs: {}, finishedAt: '2026-01-01T00:00:00.000Z', seconds: 1 });
  // A second run whose output bytes equal the first's: the artifact's manifest names only the first
  // run's key, so this record is found through the lock file.
  otherKey = sha256Hex('other cache key');
  await source.writeCacheRecord({ cacheKey: otherKey, stage: 'fake', outputs: { metrics: a.id }, params: {}, inputs: { w: b.id }, finishedAt: '2026-01-01T00:00:00.000Z', seconds: 2 });
  lockFile = join(work, 'quickstart.lock.json');
  const lock = { pipeline: 'quickstart', stages: { other: { stage: 'fake', version: 1, code: 'c', key: otherKey, params: {}, inputs: { w: b.id }, outputs: { metrics: a.id } } } };
  await writeFile(lockFile, `${JSON.stringify(lock)}\n`);
});

afterAll(async () => {
  await execa('chmod', ['-R', 'u+w', work]);
  await rm(work, { recursive: true, force: true });
});

async function emptyStore(): Promise<string> {
  return mkdtemp(join(work, 'store-'));
}

async function objectFiles(store: ArtifactStore, id: string): Promise<Record<string, string>> {
  const opened = await store.open(id);
  const out: Record<string, string> = {};
  for (const name of opened?.files ?? []) out[name] = await readFile(join(opened!.dir, ...name.split('/')), 'utf8');
  return out;
}

describe('export then import', () => {
  it('round-trips artifacts, cache records and the lock file into an empty store, verified', async () => {
    const tar = join(work, 'round.tar');
    const referenced = await lockFileReferences(lockFile);
    expect(referenced).toEqual({ ids, cacheKeys: [otherKey] });
    const result = await exportArtifacts(source.root, [...referenced.ids, ids[0]], tar, { lockFile });
    expect(result.ids).toEqual(ids);

    const root = await emptyStore();
    const imported = await importArtifacts(tar, root);
    expect(imported.ids).toEqual(ids);
    expect(imported.cacheKeys).toEqual([cacheKey, otherKey].sort());
    expect(imported.lockFiles).toEqual({ 'quickstart.lock.json': await readFile(lockFile, 'utf8') });

    const target = new ArtifactStore(root);
    expect(await target.list()).toEqual(ids);
    for (const id of ids) {
      expect(await target.verify(id)).toEqual({ id, ok: true });
      expect(await objectFiles(target, id)).toEqual(await objectFiles(source, id));
      const manifest = (await target.open(id))!.manifest;
      const original = (await source.open(id))!.manifest;
      expect({ ...manifest, createdAt: '' }).toEqual({ ...original, createdAt: '' });
    }
    for (const key of [cacheKey, otherKey]) expect(await target.readCacheRecord(key)).toEqual(await source.readCacheRecord(key));
    // Importing the same tar again is a no-op.
    expect((await importArtifacts(tar, root)).ids).toEqual(ids);
  });

  it('writes a tar GNU tar reads, with the same bytes on every export, gzipped on request', async () => {
    const first = join(work, 'one.tar');
    const second = join(work, 'two.tar');
    await exportArtifacts(source.root, ids, first, { lockFile });
    await exportArtifacts(source.root, [...ids].reverse(), second, { lockFile });
    expect((await readFile(second)).equals(await readFile(first))).toBe(true);

    const listed = (await execa('tar', ['-tf', first])).stdout.split('\n').sort();
    const expected: string[] = [`cache/${cacheKey}.json`, `cache/${otherKey}.json`, 'pipelines/quickstart.lock.json'];
    for (const id of ids) {
      expected.push(`objects/${id}/manifest.json`, ...(await source.open(id))!.files.map((f) => `objects/${id}/${f}`));
    }
    // GNU tar sees every entry, the PAX long name included.
    expect(listed).toEqual(expected.sort());
    const long = listed.find((p) => p.endsWith(LONG_NAME));

    const out = await mkdtemp(join(work, 'gnu-'));
    await execa('tar', ['-xf', first, '-C', out]);
    const id = long!.split('/')[1];
    expect(await readFile(join(out, long!), 'utf8')).toBe('deep\n');
    expect(await readFile(join(out, 'objects', id, 'weights.bin'), 'utf8')).toBe('x'.repeat(1500));

    const gz = join(work, 'round.tar.gz');
    await exportArtifacts(source.root, ids, gz);
    const gzListed = (await execa('tar', ['-tzf', gz])).stdout.split('\n');
    expect(gzListed.filter((p) => p.startsWith('objects/')).sort()).toEqual(listed.filter((p) => p.startsWith('objects/')));
    expect((await importArtifacts(gz, await emptyStore())).ids).toEqual(ids);
  });

  it('imports a tar written by GNU tar (folders, GNU long names) from a store folder', async () => {
    const tar = join(work, 'gnu.tar');
    await execa('tar', ['-cf', tar, '--format=gnu', '-C', source.root, ...ids.map((id) => `objects/${id}`)]);
    const root = await emptyStore();
    expect((await importArtifacts(tar, root)).ids).toEqual(ids);
    for (const id of ids) expect(await new ArtifactStore(root).verify(id)).toEqual({ id, ok: true });
  });

  it('writes a cache record only when every output it names is in the store', async () => {
    const a = (await source.readCacheRecord(otherKey))!.outputs.metrics;
    const tar = join(work, 'partial.tar');
    await exportArtifacts(source.root, [a], tar, { lockFile });
    const root = await emptyStore();
    const imported = await importArtifacts(tar, root);
    expect(imported.ids).toEqual([a]);
    // cacheKey's record names both artifacts, one of which stayed behind; otherKey's names only a.
    expect(imported.cacheKeys).toEqual([otherKey]);
    expect(await new ArtifactStore(root).readCacheRecord(cacheKey)).toBeUndefined();
  });

  it('refuses to export a corrupt artifact and leaves no tar behind', async () => {
    const store = new ArtifactStore(await emptyStore());
    const manifest = await commitFiles(store, { 'metrics.json': '{"test_acc":0.5}\n' }, 'metrics');
    await chmod(join(store.objectDir(manifest.id), 'metrics.json'), 0o644);
    await writeFile(join(store.objectDir(manifest.id), 'metrics.json'), '{"test_acc":0.9}\n');
    const tar = join(work, 'corrupt.tar');
    await expect(exportArtifacts(store.root, [manifest.id], tar)).rejects.toThrow(new RegExp(`${manifest.id}.*corrupt|corrupt.*${manifest.id}`));
    await expect(stat(tar)).rejects.toThrow();
  });

  it('refuses to export an artifact the store lacks', async () => {
    await expect(exportArtifacts(source.root, ['0'.repeat(64)], join(work, 'missing.tar'))).rejects.toThrow(/not in the store/);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile archives, built block by block so each header says exactly what the attack needs.

/** The tar entries of one real artifact (its manifest and files), to which an attack is appended. */
async function genuineEntries(id: string): Promise<{ name: string; data: string }[]> {
  const opened = (await source.open(id))!;
  const names = ['manifest.json', ...opened.files];
  return Promise.all(names.map(async (n) => ({ name: `objects/${id}/${n}`, data: await readFile(join(opened.dir, ...n.split('/')), 'utf8') })));
}

async function expectRefused(tar: Buffer, entryName: string): Promise<void> {
  const file = join(work, `evil-${sha256Hex(tar).slice(0, 8)}.tar`);
  await writeFile(file, tar);
  const root = await emptyStore();
  const error = await importArtifacts(file, root).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'import should have refused the archive').toBeInstanceOf(Error);
  expect(isUserError(error), String(error)).toBe(true);
  expect((error as Error).message).toContain(`"${entryName}"`);
  // Nothing was written: no object, no cache record, nothing beside the store.
  expect(await new ArtifactStore(root).list()).toEqual([]);
  const left = await readdir(root);
  expect(left.filter((n) => n !== 'tmp')).toEqual([]);
  if (left.includes('tmp')) expect(await readdir(join(root, 'tmp'))).toEqual([]);
  await expect(stat(join(root, '..', 'x'))).rejects.toThrow();
}

describe('import refuses hostile archives and leaves the store untouched', () => {
  it("refuses '..' in a path", async () => {
    const genuine = await genuineEntries(ids[0]);
    await expectRefused(rawTar([...genuine, { name: '../x', data: 'escape' }]), '../x');
    await expectRefused(rawTar([...genuine, { name: `objects/${ids[0]}/../../x`, data: 'escape' }]), `objects/${ids[0]}/../../x`);
  });

  it('refuses absolute paths', async () => {
    await expectRefused(rawTar([...(await genuineEntries(ids[0])), { name: '/etc/x', data: 'root' }]), '/etc/x');
  });

  it('refuses symbolic links, hard links and devices, even inside objects/', async () => {
    const genuine = await genuineEntries(ids[0]);
    const inside = `objects/${ids[0]}/link`;
    await expectRefused(rawTar([...genuine, { name: inside, type: '2', linkname: '/etc/passwd' }]), inside);
    await expectRefused(rawTar([...genuine, { name: inside, type: '1', linkname: `objects/${ids[0]}/manifest.json` }]), inside);
    await expectRefused(rawTar([...genuine, { name: inside, type: '3' }]), inside);
  });

  it('refuses entries outside objects/, cache/ and pipelines/', async () => {
    await expectRefused(rawTar([{ name: 'notes.txt', data: 'hi' }]), 'notes.txt');
    await expectRefused(rawTar([{ name: 'objects/not-an-id/file', data: 'hi' }]), 'objects/not-an-id/file');
  });

  it('refuses tampered bytes, naming the file', async () => {
    const genuine = await genuineEntries(ids[0]);
    const target = genuine.find((e) => e.name.endsWith('metrics.json'))!;
    const tampered = genuine.map((e) => (e === target ? { ...e, data: e.data.replace('0.9', '0.8') } : e));
    await expectRefused(rawTar([...(await genuineEntries(ids[1])), ...tampered]), target.name);
  });

  it('refuses a file changed together with its manifest (the id no longer holds)', async () => {
    const genuine = await genuineEntries(ids[0]);
    const manifestEntry = genuine.find((e) => e.name.endsWith('manifest.json'))!;
    const manifest = JSON.parse(manifestEntry.data) as Manifest;
    const forged = '{"test_acc":0.99}\n';
    manifest.files['metrics.json'] = { sha256: sha256Hex(forged), size: Buffer.byteLength(forged) };
    const entries = genuine.map((e) =>
      e === manifestEntry ? { ...e, data: JSON.stringify(manifest) } : e.name.endsWith('metrics.json') ? { ...e, data: forged } : e,
    );
    const file = join(work, 'forged.tar');
    await writeFile(file, rawTar(entries));
    const root = await emptyStore();
    await expect(importArtifacts(file, root)).rejects.toThrow(new RegExp(`objects/${ids[0]}/.*do not hash to ${ids[0]}`));
    expect(await new ArtifactStore(root).list()).toEqual([]);
  });

  it('refuses a file the manifest does not list', async () => {
    const extra = `objects/${ids[0]}/extra.txt`;
    await expectRefused(rawTar([...(await genuineEntries(ids[0])), { name: extra, data: 'smuggled' }]), extra);
  });

  it('refuses a damaged header', async () => {
    const tar = rawTar(await genuineEntries(ids[0]));
    tar[10] ^= 0xff;
    const file = join(work, 'damaged.tar');
    await writeFile(file, tar);
    await expect(importArtifacts(file, await emptyStore())).rejects.toThrow(/checksum/);
  });
});

describe('import is cheap to refuse and safe with any name', () => {
  it('refuses an entry whose declared size passes the cap at its header, before unpacking anything', async () => {
    // A header that claims 1 GiB after a 1.5 KB archive: over the default cap (200 × the file's size + 256 MiB).
    const genuine = rawTar(await genuineEntries(ids[0]));
    const bomb = Buffer.concat([genuine.subarray(0, genuine.length - 1024), rawTarHeader(`objects/${ids[0]}/huge.bin`, 1024 ** 3, '0'), Buffer.alloc(1024)]);
    const started = Date.now();
    await expectRefused(bomb, `objects/${ids[0]}/huge.bin`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a gzip bomb past --max-bytes and a flood of entries past --max-entries, writing nothing', async () => {
    const zeros = rawTar([...(await genuineEntries(ids[0])), { name: `objects/${ids[0]}/zeros.bin`, data: '\0'.repeat(8 * 1024 ** 2) }]);
    const file = join(work, 'bomb.tar.gz');
    await writeFile(file, gzipSync(zeros));
    expect((await stat(file)).size).toBeLessThan(100_000);
    const root = await emptyStore();
    await expect(importArtifacts(file, root, { maxBytes: 1024 ** 2 })).rejects.toThrow(/entry "objects\/.*\/zeros\.bin" takes the archive past 1048576 unpacked bytes \(a decompression bomb\?\); refused before unpacking it/);
    expect(await new ArtifactStore(root).list()).toEqual([]);
    const flood = join(work, 'flood.tar');
    await writeFile(flood, rawTar(Array.from({ length: 12 }, () => ({ name: 'objects/', type: '5' }))));
    await expect(importArtifacts(flood, root, { maxEntries: 10 })).rejects.toThrow(/more than 10 entries/);
  });

  it('refuses a file bigger than its manifest says at its header (export writes the manifest first)', async () => {
    const genuine = await genuineEntries(ids[0]);
    const target = genuine.find((e) => e.name.endsWith('metrics.json'))!;
    const grown = genuine.map((e) => (e === target ? { ...e, data: e.data + ' '.repeat(100) } : e));
    await expectRefused(rawTar(grown), target.name);
  });

  it('keeps entry names such as constructor and __proto__ as plain names, and refuses a component over 255 bytes', async () => {
    const store = new ArtifactStore(await emptyStore());
    const odd = await commitFiles(store, { constructor: 'c', ['__proto__']: 'p', 'toString/valueOf': 'v', [`${'d'.repeat(120)}/${'e'.repeat(200)}.txt`]: 'long' }, 'odd');
    const tar = join(work, 'odd.tar');
    await exportArtifacts(store.root, [odd.id], tar);
    const root = await emptyStore();
    expect((await importArtifacts(tar, root)).ids).toEqual([odd.id]);
    const target = new ArtifactStore(root);
    expect(await target.verify(odd.id)).toEqual({ id: odd.id, ok: true });
    expect(await objectFiles(target, odd.id)).toEqual(await objectFiles(store, odd.id));
    expect((await target.open(odd.id))!.files).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'toString/valueOf']));
    expect(Object.getPrototypeOf((await target.open(odd.id))!.manifest.files)).toBe(Object.prototype);
    // A PAX long name with a component no file system takes.
    const tooLong = `objects/${ids[0]}/${'x'.repeat(256)}`;
    const file = join(work, 'too-long.tar');
    await writeTarFile(file, [...(await genuineEntries(ids[0])).map((e) => bytesEntry(e.name, Buffer.from(e.data))), bytesEntry(tooLong, Buffer.from('x'))], { gzip: false });
    await expectRefused(await readFile(file), tooLong);
  });

  it("reports a cache record that differs from the store's own instead of overwriting it", async () => {
    const tar = join(work, 'conflict.tar');
    await exportArtifacts(source.root, ids, tar, { lockFile });
    const root = await emptyStore();
    const target = new ArtifactStore(root);
    const local = { cacheKey: otherKey, stage: 'fake', outputs: { metrics: ids[1] }, params: {}, inputs: {}, finishedAt: '2026-02-02T00:00:00.000Z', seconds: 3 };
    await target.writeCacheRecord(local);
    const imported = await importArtifacts(tar, root);
    expect(imported.conflicts).toEqual([{ cacheKey: otherKey, local: local.outputs, archive: (await source.readCacheRecord(otherKey))!.outputs }]);
    expect(imported.cacheKeys).toEqual([cacheKey]);
    expect(await target.readCacheRecord(otherKey)).toEqual(local);
  });
});
