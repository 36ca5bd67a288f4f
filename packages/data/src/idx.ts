import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { UserError } from './errors.js';
import type { RawSet } from './raw.js';

/**
 * The IDX format of the MNIST family (LeCun's MNIST page): a big-endian magic number of two zero
 * bytes, a type code and the number of dimensions; then each dimension as a big-endian uint32; then
 * the values, big-endian, last dimension fastest. Files may be gzipped.
 */
export const IDX_TYPES = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'sbyte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
} as const;

export type IdxTypeName = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name'];

export interface IdxArray {
  type: IdxTypeName;
  dims: number[];
  /** The values in file order; ubyte data is a view on the file's bytes, the others are decoded copies. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Options for the errors: `hint` ends each message (e.g. how to get the file again). */
export interface IdxErrorOptions {
  hint?: string;
}

const gunzipAsync = promisify(gunzip);

function fail(problem: string, opts: IdxErrorOptions): never {
  throw new UserError(opts.hint ? `${problem}; ${opts.hint}.` : `${problem}.`);
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads an IDX file, gzipped (detected by its magic bytes 1f 8b) or plain. */
export async function readIdx(file: string, opts: IdxErrorOptions = {}): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    fail(`IDX file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, opts);
  }
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      fail(`IDX file ${file} is a truncated or corrupt gzip file (${(error as Error).message})`, opts);
    }
  }
  return parseIdx(bytes, file, opts);
}

/** Parses the bytes of an (uncompressed) IDX file; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string, opts: IdxErrorOptions = {}): IdxArray {
  if (bytes.length < 4) fail(`IDX file ${file} is truncated: ${bytes.length} bytes, fewer than the 4 of its magic number`, opts);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = bytes[2];
  const rank = bytes[3];
  const type = IDX_TYPES[code as keyof typeof IDX_TYPES];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type || rank === 0) {
    const magic = `0x${view.getUint32(0).toString(16).padStart(8, '0')}`;
    fail(`${file} is not an IDX file: its magic number is ${magic}, but an IDX file starts with two zero bytes, a type code 0x08–0x0e and at least one dimension`, opts);
  }
  const header = 4 + 4 * rank;
  if (bytes.length < header) fail(`IDX file ${file} is truncated: ${bytes.length} bytes, fewer than the ${header} of a header with ${rank} dimensions`, opts);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = count * type.bytes;
  const actual = bytes.length - header;
  if (actual !== expected) {
    const what = `its header declares ${dims.join('×')} ${type.name} values (${expected} bytes) but ${actual} bytes follow the header`;
    fail(actual < expected ? `IDX file ${file} is truncated: ${what}` : `IDX file ${file} is longer than it should be: ${what}`, opts);
  }
  return { type: type.name, dims, data: decode(type.name, view, header, count) };
}

function decode(type: IdxTypeName, view: DataView, offset: number, count: number): IdxArray['data'] {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, count);
  if (type === 'ubyte') return bytes;
  if (type === 'sbyte') return new Int8Array(bytes.buffer, bytes.byteOffset, count).slice();
  const fill = <T extends Int16Array | Int32Array | Float32Array | Float64Array>(out: T, read: (i: number) => number): T => {
    for (let i = 0; i < count; i++) out[i] = read(i);
    return out;
  };
  if (type === 'short') return fill(new Int16Array(count), (i) => view.getInt16(offset + 2 * i));
  if (type === 'int') return fill(new Int32Array(count), (i) => view.getInt32(offset + 4 * i));
  if (type === 'float') return fill(new Float32Array(count), (i) => view.getFloat32(offset + 4 * i));
  return fill(new Float64Array(count), (i) => view.getFloat64(offset + 8 * i));
}

/**
 * An image set from an MNIST-family pair of IDX files: images ubyte [N, H, W] (one channel),
 * labels ubyte [N], each label below `classNames.length`.
 */
export async function readIdxImageSet(imagesFile: string, labelsFile: string, classNames: string[], opts: IdxErrorOptions = {}): Promise<RawSet> {
  const images = await readIdx(imagesFile, opts);
  const labels = await readIdx(labelsFile, opts);
  if (images.type !== 'ubyte' || images.dims.length !== 3) {
    fail(`IDX file ${imagesFile} holds ${images.type} values of shape ${images.dims.join('×')}; images must be ubyte of shape count×height×width`, opts);
  }
  if (labels.type !== 'ubyte' || labels.dims.length !== 1) {
    fail(`IDX file ${labelsFile} holds ${labels.type} values of shape ${labels.dims.join('×')}; labels must be ubyte of shape count`, opts);
  }
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) fail(`${imagesFile} holds ${count} images but ${labelsFile} holds ${labels.dims[0]} labels; the two files must be the same count`, opts);
  const bad = labels.data.findIndex((label) => label >= classNames.length);
  if (bad >= 0) fail(`IDX file ${labelsFile} has label ${labels.data[bad]} at index ${bad}; labels are 0–${classNames.length - 1}`, opts);
  return {
    pixels: images.data as Uint8Array,
    labels: Int32Array.from(labels.data),
    count,
    height,
    width,
    channels: 1,
    numClasses: classNames.length,
    classNames,
  };
}
