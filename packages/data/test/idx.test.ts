import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { parseIdx, readIdx, readIdxImageSet } from '../src/idx.js';
import { idxFile, expectOneSentence } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenna-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

// Pixel (n, y, x) of the test images is (n·16 + y·4 + x) mod 256: every byte says where it came from.
const images = (count: number) => idxFile('ubyte', [count, 3, 4], Array.from({ length: count * 12 }, (_, i) => (Math.floor(i / 12) * 16 + (i % 12 >> 2) * 4 + (i % 4)) % 256));
const labels = (values: number[]) => idxFile('ubyte', [values.length], values);

describe('parseIdx', () => {
  it('reads the header and the values of every type code, big-endian', () => {
    const cases = [
      { type: 'ubyte', values: [0, 1, 200, 255] },
      { type: 'sbyte', values: [-128, -1, 0, 127] },
      { type: 'short', values: [-32768, -1234, 258, 32767] },
      { type: 'int', values: [-2147483648, -123456789, 65536 + 3, 2147483647] },
      { type: 'float', values: [-1.5, 0, 3.25, 2 ** 100] },
      { type: 'double', values: [-1e-300, 0.1, Math.PI, 1e300] },
    ] as const;
    for (const { type, values } of cases) {
      const parsed = parseIdx(idxFile(type, [2, 2], [...values]), `${type}.idx`);
      expect(parsed.type).toBe(type);
      expect(parsed.dims).toEqual([2, 2]);
      expect(Array.from(parsed.data)).toEqual([...values]);
    }
  });

  it('reads dims as big-endian uint32 and values with the last dimension fastest', () => {
    const parsed = parseIdx(images(2), 'images.idx');
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(parsed.data[12 + 2 * 4 + 3]).toBe(16 + 8 + 3);
    // A dimension above 255 needs more than the last header byte.
    expect(parseIdx(idxFile('ubyte', [300], new Array(300).fill(7)), 'long.idx').dims).toEqual([300]);
  });

  it('refuses a wrong magic number: nonzero leading bytes, an unknown type code, no dimensions', () => {
    const good = labels([1, 2]);
    for (const [at, value, magic] of [[0, 1, '0x01000801'], [1, 8, '0x00080801'], [2, 0x0a, '0x00000a01'], [3, 0, '0x00000800']] as const) {
      const bad = Uint8Array.from(good);
      bad[at] = value;
      expect(() => parseIdx(bad, 'bad.idx')).toThrow(`bad.idx is not an IDX file: its magic number is ${magic}`);
    }
    expect(() => parseIdx(Buffer.from('P5\n28 28\n255\n'), 'image.pgm')).toThrow(/image\.pgm is not an IDX file: its magic number is 0x50350a32/);
  });

  it('refuses a file cut inside the magic, inside the dims or inside the data, and one with bytes to spare', () => {
    const whole = images(2);
    expect(() => parseIdx(whole.subarray(0, 3), 'a.idx')).toThrow('IDX file a.idx is truncated: 3 bytes, fewer than the 4 of its magic number.');
    expect(() => parseIdx(whole.subarray(0, 10), 'b.idx')).toThrow('IDX file b.idx is truncated: 10 bytes, fewer than the 16 of a header with 3 dimensions.');
    expect(() => parseIdx(whole.subarray(0, whole.length - 1), 'c.idx')).toThrow(
      'IDX file c.idx is truncated: its header declares 2×3×4 ubyte values (24 bytes) but 23 bytes follow the header.',
    );
    const longer = new Uint8Array(whole.length + 2);
    longer.set(whole);
    expect(() => parseIdx(longer, 'd.idx')).toThrow('IDX file d.idx is longer than it should be: its header declares 2×3×4 ubyte values (24 bytes) but 26 bytes follow the header.');
    // Dims that disagree with the data: the same bytes declared as 3 images of 3×4.
    const wrongDims = Uint8Array.from(whole);
    wrongDims[7] = 3;
    expect(() => parseIdx(wrongDims, 'e.idx')).toThrow(/e\.idx is truncated: its header declares 3×3×4 ubyte values \(36 bytes\) but 24 bytes/);
    // Multi-byte types count bytes, not values.
    const shorts = idxFile('short', [3], [1, 2, 3]);
    expect(() => parseIdx(shorts.subarray(0, shorts.length - 1), 'f.idx')).toThrow(/3 short values \(6 bytes\) but 5 bytes/);
  });

  it('ends every error with the hint, in one sentence', () => {
    let error: unknown;
    try {
      parseIdx(images(1).subarray(0, 20), 'g.idx', { hint: 'get it again with `apt-get install x`' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^IDX file g\.idx is truncated: .*; get it again with `apt-get install x`\.$/);
    expectOneSentence(error as Error);
  });
});

describe('readIdx', () => {
  it('reads plain and gzipped files alike', async () => {
    const bytes = images(3);
    const plain = await readIdx(await write('plain-idx3-ubyte', bytes));
    const zipped = await readIdx(await write('zipped-idx3-ubyte.gz', gzipSync(bytes)));
    expect(zipped.dims).toEqual([3, 3, 4]);
    expect(Array.from(zipped.data)).toEqual(Array.from(plain.data));
    expect(Array.from(plain.data)).toEqual(Array.from(bytes.subarray(16)));
  });

  it('names the file when it is missing, a truncated gzip stream, or a gzip of a truncated file', async () => {
    const missing = join(dir, 'absent.gz');
    expectOneSentence(await rejection(readIdx(missing, { hint: 'reinstall it' })));
    await expect(readIdx(missing)).rejects.toThrow(`IDX file ${missing} cannot be read (ENOENT)`);
    const zipped = gzipSync(images(40));
    const cut = await write('cut.gz', zipped.subarray(0, zipped.length - 30));
    const error = await rejection(readIdx(cut, { hint: 'reinstall it' }));
    expect(error.message).toMatch(new RegExp(`^IDX file ${cut} is a truncated or corrupt gzip file \\(.*\\); reinstall it\\.$`));
    const shortInside = await write('short-inside.gz', gzipSync(images(40).subarray(0, 100)));
    await expect(readIdx(shortInside)).rejects.toThrow(`IDX file ${shortInside} is truncated: its header declares 40×3×4 ubyte values (480 bytes) but 84 bytes follow the header.`);
  });
});

describe('readIdxImageSet', () => {
  it('pairs images [N, H, W] with labels [N] as one-channel bytes', async () => {
    const set = await readIdxImageSet(await write('i3', images(3)), await write('l3', labels([2, 0, 1])), ['a', 'b', 'c']);
    expect([set.count, set.height, set.width, set.channels, set.numClasses]).toEqual([3, 3, 4, 1, 3]);
    expect(set.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(set.labels)).toEqual([2, 0, 1]);
    expect(set.labels).toBeInstanceOf(Int32Array);
    expect(set.pixels[2 * 12 + 1 * 4 + 2]).toBe(2 * 16 + 4 + 2);
  });

  it('refuses counts that differ, a label out of range, and files of the wrong type or rank', async () => {
    const classes = ['a', 'b', 'c'];
    const imagesFile = await write('i4', images(4));
    const three = await write('l-three', labels([0, 1, 2]));
    const err = await rejection(readIdxImageSet(imagesFile, three, classes, { hint: 'reinstall them' }));
    expect(err.message).toBe(`${imagesFile} holds 4 images but ${three} holds 3 labels; the two files must be the same count; reinstall them.`);
    const outOfRange = await write('l-range', labels([0, 1, 3, 2]));
    await expect(readIdxImageSet(imagesFile, outOfRange, classes)).rejects.toThrow(`IDX file ${outOfRange} has label 3 at index 2; labels are 0–2.`);
    const flat = await write('i-flat', idxFile('ubyte', [4, 12], new Array(48).fill(1)));
    await expect(readIdxImageSet(flat, three, classes)).rejects.toThrow(`IDX file ${flat} holds ubyte values of shape 4×12; images must be ubyte of shape count×height×width.`);
    const floats = await write('i-float', idxFile('float', [4, 1, 1], [0, 0, 0, 0]));
    await expect(readIdxImageSet(floats, three, classes)).rejects.toThrow(/holds float values of shape 4×1×1/);
    const intLabels = await write('l-int', idxFile('int', [4], [0, 1, 2, 0]));
    await expect(readIdxImageSet(imagesFile, intLabels, classes)).rejects.toThrow(`IDX file ${intLabels} holds int values of shape 4; labels must be ubyte of shape count.`);
  });
});
