import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_FILES, CIFAR_NORMALISATION, CIFAR_RECORD_BYTES, loadCifarRaw, readCifarBatch } from '../src/cifar.js';
import { UserError } from '../src/errors.js';
import { fingerprintDatasetFiles, fingerprintCifarFolder, portableDatasetSpec } from '../src/fingerprint.js';
import { checkDataset } from '../src/check.js';
import { loadDataset, loadRawSplits } from '../src/load.js';
import { normaliseRaw } from '../src/raw.js';

/** Records in the official layout: label, then R, G, B planes; pixel (y, x) of plane c is (r·7 + c·50 + y·3 + x) mod 256. */
function records(count: number, firstLabel = 0): Buffer {
  const bytes = Buffer.alloc(count * CIFAR_RECORD_BYTES);
  for (let r = 0; r < count; r++) {
    const base = r * CIFAR_RECORD_BYTES;
    bytes[base] = (firstLabel + r) % 10;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[base + 1 + c * 1024 + y * 32 + x] = (r * 7 + c * 50 + y * 3 + x) % 256;
    }
  }
  return bytes;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenna-cifar-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function folderWith(name: string, files: Record<string, Buffer>): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder);
  for (const [file, bytes] of Object.entries(files)) await writeFile(join(folder, file), bytes);
  return folder;
}

describe('readCifarBatch', () => {
  it('decodes planar RGB records into NHWC bytes and labels', async () => {
    const file = join(dir, 'three.bin');
    await writeFile(file, records(3, 8));
    const set = await readCifarBatch(file, { records: 3 });
    expect([set.count, set.height, set.width, set.channels, set.numClasses]).toEqual([3, 32, 32, 3, 10]);
    expect(Array.from(set.labels)).toEqual([8, 9, 0]);
    for (const [r, y, x, c] of [[0, 0, 0, 0], [1, 5, 9, 2], [2, 31, 31, 1], [2, 0, 17, 0]]) {
      expect(set.pixels[((r * 32 + y) * 32 + x) * 3 + c]).toBe((r * 7 + c * 50 + y * 3 + x) % 256);
    }
  });

  it('names the file and the expected size when it is missing, short, long or misaligned', async () => {
    const short = join(dir, 'short.bin');
    await writeFile(short, records(2));
    await expect(readCifarBatch(short, { records: 3 })).rejects.toThrow(`${short} is short: 6146 bytes (2 records)`);
    await expect(readCifarBatch(short, { records: 1 })).rejects.toThrow(/is too long/);
    const misaligned = join(dir, 'misaligned.bin');
    await writeFile(misaligned, records(3).subarray(0, 3 * CIFAR_RECORD_BYTES - 5));
    await expect(readCifarBatch(misaligned, { records: 3 })).rejects.toThrow(`${misaligned} is misaligned`);
    await expect(readCifarBatch(join(dir, 'nope.bin'), { records: 3 })).rejects.toThrow(/nope\.bin is missing.*3 records × 3073 bytes = 9219 bytes/);
    await expect(readCifarBatch(join(dir, 'nope.bin'))).rejects.toThrow(/30730000 bytes/);
    await expect(readCifarBatch(join(dir, 'nope.bin'))).rejects.toBeInstanceOf(UserError);
  });

  it('reports a label byte above 9 as misaligned, with the record', async () => {
    const bytes = records(3);
    bytes[2 * CIFAR_RECORD_BYTES] = 200;
    const file = join(dir, 'bad-label.bin');
    await writeFile(file, bytes);
    await expect(readCifarBatch(file, { records: 3 })).rejects.toThrow(/record 2 has label byte 200/);
  });
});

describe('CIFAR-10 folder', () => {
  it('loads five training batches in order and the test batch', async () => {
    const files = Object.fromEntries(CIFAR_FILES.map((name, i) => [name, records(2, 2 * i)]));
    const folder = await folderWith('small', files);
    const { train, test } = await loadCifarRaw(folder, { records: 2 });
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(test.labels)).toEqual([0, 1]);
    expect(train.pixels[2 * 3072]).toBe(0);
    expect(train.pixels[3 * 3072 + 1]).toBe((7 + 50) % 256);
  });

  it('carves a seeded val out of the training batches and keeps test_batch.bin as test', async () => {
    const files = Object.fromEntries(CIFAR_FILES.map((name, i) => [name, records(4, i)]));
    const folder = await folderWith('carve', files);
    const load = (seed: number) => loadRawSplits({ name: 'cifar10', path: folder, seed, valFraction: 0.25 }, { cifarRecords: 4 });
    const { splits, normalisation } = await load(3);
    expect(normalisation).toBe(CIFAR_NORMALISATION);
    expect([splits.train.count, splits.val.count, splits.test.count]).toEqual([15, 5, 4]);
    expect(Array.from(splits.test.labels)).toEqual([5, 6, 7, 8]);
    // Record r of batch b has label (b + r) mod 10 and first red byte r·7: together they name the record.
    const expected = [0, 1, 2, 3, 4].flatMap((b) => [0, 1, 2, 3].map((r) => `${(b + r) % 10}:${r * 7}`));
    const keys = (set: typeof splits.train) => Array.from(set.labels, (label, i) => `${label}:${set.pixels[i * 3072]}`);
    expect([...keys(splits.train), ...keys(splits.val)].sort()).toEqual(expected.sort());
    expect(Array.from((await load(3)).splits.val.pixels)).toEqual(Array.from(splits.val.pixels));
    expect(Array.from((await load(4)).splits.val.labels)).not.toEqual(Array.from(splits.val.labels));
  });

  it('names the first missing or short file and the official size', async () => {
    const files = Object.fromEntries(CIFAR_FILES.filter((name) => name !== 'data_batch_3.bin').map((name) => [name, records(2)]));
    const folder = await folderWith('gap', files);
    await expect(loadCifarRaw(folder)).rejects.toThrow(`${join(folder, 'data_batch_1.bin')} is short: 6146 bytes (2 records); expected the official CIFAR-10 binary layout of 10000 records × 3073 bytes = 30730000 bytes`);
    await expect(loadCifarRaw(folder, { records: 2 })).rejects.toThrow(`${join(folder, 'data_batch_3.bin')} is missing`);
    await expect(loadCifarRaw(join(dir, 'absent'))).rejects.toThrow(/absent does not exist/);
    await expect(loadDataset({ name: 'cifar10', seed: 0 })).rejects.toThrow(/needs a path/);
    await expect(checkDataset('cifar10', { path: folder })).rejects.toThrow(`${join(folder, 'data_batch_1.bin')} is short`);
    await expect(loadDataset({ name: 'cifar10', seed: 0, path: folder, testFraction: 0.1 })).rejects.toThrow(/no testFraction/);
  });

  it('normalises with the CIFAR per-channel statistics', () => {
    const raw = { pixels: Uint8Array.from([0, 128, 255]), labels: Int32Array.from([0]), count: 1, height: 1, width: 1, channels: 3, numClasses: 10 };
    const set = normaliseRaw(raw, CIFAR_NORMALISATION);
    const expected = [(0 - 0.4914) / 0.247, (128 / 255 - 0.4822) / 0.2435, (1 - 0.4465) / 0.2616];
    expected.forEach((value, c) => expect(set.images[c]).toBeCloseTo(value, 5));
  });
});

describe('fingerprintCifarFolder', () => {
  it('depends on the files\' content only: a copy elsewhere with other times matches, a flipped byte does not', async () => {
    const memo = join(dir, 'digests.json');
    const files = Object.fromEntries(CIFAR_FILES.map((name) => [name, records(3)]));
    const folder = await folderWith('fingerprint', files);
    const copy = await folderWith('fingerprint-copy', files);
    const stamp = new Date('2020-01-01T00:00:00Z');
    await utimes(join(copy, 'test_batch.bin'), stamp, stamp);
    const first = await fingerprintCifarFolder(folder, memo);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprintCifarFolder(folder, memo)).toBe(first);
    expect(await fingerprintCifarFolder(copy, memo)).toBe(first);
    const changed = records(3);
    changed[CIFAR_RECORD_BYTES + 17] ^= 1;
    await writeFile(join(copy, 'data_batch_3.bin'), changed);
    expect(await fingerprintCifarFolder(copy, memo)).not.toBe(first);
    await rm(join(folder, 'data_batch_2.bin'));
    await expect(fingerprintCifarFolder(folder, memo)).rejects.toThrow(/data_batch_2\.bin is missing/);
  });

  it('hashes each file once and then trusts its stat until the file is written to', async () => {
    const memo = join(dir, 'digests-2.json');
    const folder = await folderWith('fingerprint-memo', Object.fromEntries(CIFAR_FILES.map((name) => [name, records(2)])));
    const first = await fingerprintCifarFolder(folder, memo);
    // A remembered digest is used as it stands while the file's stat is unchanged (proof that nothing is re-read) ...
    const remembered = JSON.parse(await readFile(memo, 'utf8'));
    const file = join(folder, 'test_batch.bin');
    remembered[file].sha256 = 'f'.repeat(64);
    await writeFile(memo, JSON.stringify(remembered));
    expect(await fingerprintCifarFolder(folder, memo)).not.toBe(first);
    // ... and any write to the file (a new ctime) makes it hashed again.
    await writeFile(file, records(2));
    expect(await fingerprintCifarFolder(folder, memo)).toBe(first);
  });

  it('portableDatasetSpec leaves the CIFAR-10 path out of the cache key, and fingerprintDatasetFiles stands for it', async () => {
    expect(portableDatasetSpec({ name: 'cifar10' as const, path: '/data/cifar', limit: 5 })).toEqual({ name: 'cifar10', limit: 5 });
    expect(portableDatasetSpec({ name: 'mnist' as const, limit: 5 })).toEqual({ name: 'mnist', limit: 5 });
    expect(await fingerprintDatasetFiles({ name: 'mnist' })).toBeUndefined();
  });
});
