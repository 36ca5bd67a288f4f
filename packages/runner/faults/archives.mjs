// Crafted archives through `lenna import`: each refused with exit 2 and one sentence naming the entry,
// cheaply, with the store left as it was; and an export of a store over 2 GiB that imports whole.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ArtifactStore, hashFileDigests } from '@lenna/core';
import { rawTar, rawTarHeader } from '../test/support/raw-tar.mjs';
import { oneSentenceProblems } from './helpers.mjs';


const sha = (text) => createHash('sha256').update(text).digest('hex');

/** A genuine artifact's entries (manifest first, as export writes them). */
function artifact(files) {
  const digests = Object.entries(files).map(([name, data]) => ({ name, sha256: sha(data), size: Buffer.byteLength(data) }));
  const id = hashFileDigests(digests);
  const manifest = { formatVersion: 1, id, kind: 'files', stage: 'fake', output: 'out', cacheKey: 'k', params: {}, inputs: {}, files: Object.fromEntries(digests.map((d) => [d.name, { sha256: d.sha256, size: d.size }])), createdAt: '2026-01-01T00:00:00.000Z' };
  return { id, manifest, entries: [{ name: `objects/${id}/manifest.json`, data: JSON.stringify(manifest) }, ...Object.entries(files).map(([name, data]) => ({ name: `objects/${id}/${name}`, data }))] };
}

/** A tar whose one entry declares `bytes` of zeros, gzipped: a few MB that would unpack to GiBs. */
async function gzipBomb(file, id, bytes) {
  async function* body() {
    yield rawTarHeader(`objects/${id}/zeros.bin`, bytes, '0');
    const zeros = Buffer.alloc(1 << 24);
    for (let left = bytes; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left);
    yield Buffer.alloc(1024);
  }
  await pipeline(body, createGzip({ level: 9 }), createWriteStream(file));
}

export async function archiveCases({ ws }) {
  const good = artifact({ 'metrics.json': '{"acc":0.9}\n', constructor: 'c', ['__proto__']: 'p' });
  const lie = (change) => {
    const manifest = structuredClone(good.manifest);
    change(manifest);
    return [{ name: `objects/${good.id}/manifest.json`, data: JSON.stringify(manifest) }, ...good.entries.slice(1)];
  };
  const crafted = [
    ['path traversal ..', [...good.entries, { name: '../../evil.txt', data: 'x' }], '../../evil.txt'],
    ['absolute path', [...good.entries, { name: '/tmp/evil.txt', data: 'x' }], '/tmp/evil.txt'],
    ['symbolic link', [...good.entries, { name: `objects/${good.id}/link`, type: '2', linkname: '/etc/passwd' }], `objects/${good.id}/link`],
    ['hard link', [...good.entries, { name: `objects/${good.id}/hard`, type: '1', linkname: '/etc/passwd' }], `objects/${good.id}/hard`],
    ['device', [...good.entries, { name: `objects/${good.id}/dev`, type: '3' }], `objects/${good.id}/dev`],
    ['manifest lies about a size', lie((m) => (m.files['metrics.json'].size -= 1)), `objects/${good.id}/metrics.json`],
    ['manifest lies about a hash', lie((m) => (m.files['metrics.json'].sha256 = sha('other'))), `objects/${good.id}/metrics.json`],
    ['manifest of another id', lie((m) => (m.id = sha('x'))), `objects/${good.id}/manifest.json`],
    ['manifest lists a file the archive lacks', lie((m) => (m.files['gone.txt'] = { sha256: sha(''), size: 0 })), `objects/${good.id}/gone.txt`],
    ['a file the manifest does not list', [...good.entries, { name: `objects/${good.id}/smuggled.txt`, data: 's' }], `objects/${good.id}/smuggled.txt`],
  ];
  const cases = [];
  const storeState = async () => JSON.stringify([await readdir(join(ws.store, 'objects')).catch(() => []), await readdir(join(ws.store, 'cache')).catch(() => [])]);
  const refused = async (name, file, entry, args = []) => {
    const before = await storeState();
    const started = performance.now();
    const r = await ws.lenna(['import', file, ...args]);
    const seconds = (performance.now() - started) / 1000;
    const problems = [];
    if (r.code !== 2) problems.push(`exit ${r.code}, not 2: ${r.stdout}${r.stderr}`);
    problems.push(...oneSentenceProblems(r.stderr));
    if (entry && !r.stderr.includes(`"${entry}"`)) problems.push(`the sentence does not name "${entry}": ${r.stderr.trim()}`);
    if ((await storeState()) !== before) problems.push('the store changed');
    cases.push({ name: `import refuses ${name} (${seconds.toFixed(1)} s)`, problems });
    return seconds;
  };
  for (const [name, entries, entry] of crafted) {
    const file = join(ws.dir, `crafted-${cases.length}.tar`);
    await writeFile(file, rawTar(entries));
    await refused(name, file, entry);
  }
  const flood = join(ws.dir, 'flood.tar');
  await writeFile(flood, rawTar(Array.from({ length: 60 }, () => ({ name: 'objects/', type: '5' }))));
  await refused('a flood of entries past --max-entries', flood, undefined, ['--max-entries', '50']);
  const bomb = join(ws.dir, 'bomb.tar.gz');
  await gzipBomb(bomb, good.id, 4 * 1024 ** 3);
  const bombMB = (await stat(bomb)).size / 1e6;
  const seconds = await refused(`a ${bombMB.toFixed(1)} MB gzip bomb of 4 GiB`, bomb, `objects/${good.id}/zeros.bin`);
  if (seconds > 10) cases[cases.length - 1].problems.push(`took ${seconds.toFixed(1)} s: not cheap`);

  // Any entry name is a plain name: constructor and __proto__ round-trip.
  const okFile = join(ws.dir, 'names.tar');
  await writeFile(okFile, rawTar(good.entries));
  const ok = await ws.lenna(['import', okFile]);
  const store = new ArtifactStore(ws.store);
  const verified = await store.verify(good.id);
  const names = verified.ok ? (await store.open(good.id)).files : [];
  cases.push({
    name: 'import keeps entries named constructor and __proto__ as plain files',
    problems: [...(ok.code === 0 ? [] : [`exit ${ok.code}: ${ok.stderr}`]), ...(verified.ok ? [] : [`verify: ${verified.problem}`]), ...(JSON.stringify(names) === JSON.stringify(['__proto__', 'constructor', 'metrics.json']) ? [] : [`files: ${names}`])],
  });
  return cases;
}

/** A store over 2 GiB (one 2.1 GiB file, sparse on the source side) exports and imports whole, streamed. */
export async function bigExportCase({ source, target }) {
  const problems = [];
  const dir = join(source.dir, 'big-src');
  await mkdir(dir, { recursive: true });
  const size = Math.round(2.1 * 1024 ** 3);
  const handle = await open(join(dir, 'big.bin'), 'w');
  await handle.truncate(size);
  await handle.write(Buffer.from('end'), 0, 3, size - 3);
  await handle.close();
  await writeFile(join(dir, 'meta.json'), '{}\n');
  const started = performance.now();
  const store = new ArtifactStore(source.store);
  const manifest = await store.commit(dir, { kind: 'files', stage: 'big', output: 'out', cacheKey: 'big', params: {}, inputs: {} });
  const lock = join(source.dir, 'big.lock.json');
  await writeFile(lock, JSON.stringify({ pipeline: 'big', stages: { big: { stage: 'big', version: 1, code: '', key: 'big', params: {}, inputs: {}, outputs: { out: manifest.id } } } }));
  const tar = join(source.dir, 'big.tar.gz');
  const exported = await source.lenna(['export', lock, tar]);
  if (exported.code !== 0) problems.push(`export exited ${exported.code}: ${exported.stderr}`);
  const imported = await target.lenna(['import', tar, '--max-bytes', String(3 * 1024 ** 3)]);
  if (imported.code !== 0) problems.push(`import exited ${imported.code}: ${imported.stderr}`);
  const verified = await new ArtifactStore(target.store).verify(manifest.id);
  if (!verified.ok) problems.push(`the imported artifact does not verify: ${verified.problem}`);
  const tail = verified.ok ? (await readFile(join(target.store, 'objects', manifest.id, 'meta.json'), 'utf8')) : '';
  if (verified.ok && tail !== '{}\n') problems.push('meta.json differs');
  const seconds = (performance.now() - started) / 1000;
  return { name: `a store over 2 GiB (one ${(size / 1024 ** 3).toFixed(1)} GiB file) exports and imports whole (${seconds.toFixed(0)} s)`, problems };
}
