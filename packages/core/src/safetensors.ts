import { readFile } from 'node:fs/promises';
import { UserError, errorMessage } from './errors.js';
import { floatArrayToHalfBits, halfBitsToFloat32Array } from './f16.js';
import { fsyncPath, writeTextFile } from './fsutil.js';
import { compareCodeUnits } from './hash.js';
import type { DType, TensorData } from './stage.js';

/**
 * safetensors: an 8-byte little-endian u64 header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the
 * tensors' raw little-endian bytes (offsets count from the first byte after the header).
 */

const BYTES_PER_ELEMENT: Record<DType, number> = { F16: 2, F32: 4, F64: 8, I8: 1, I16: 2, I32: 4, I64: 8, U8: 1, U16: 2, U32: 4, BOOL: 1 };
const METADATA_KEY = '__metadata__';
/** The reference implementation's limit; a larger header is a corrupt length, not a real file. */
const MAX_HEADER_BYTES = 100_000_000;

export const SAFETENSORS_DTYPES = Object.keys(BYTES_PER_ELEMENT) as DType[];

export interface SafetensorsContent {
  tensors: Record<string, TensorData>;
  metadata: Record<string, string>;
}

interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function fail(where: string | undefined, problem: string): never {
  throw new UserError(`${where ?? 'safetensors data'}: ${problem}`);
}

export function decodeSafetensors(bytes: Uint8Array, where?: string): SafetensorsContent {
  const { header, dataStart } = readHeader(bytes, where);
  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, where);
    else entries.push(parseEntry(name, value, where));
  }
  checkLayout(entries, bytes.length - dataStart, where);
  const tensors = Object.fromEntries(
    entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, data: decodeData(e, bytes.subarray(dataStart + e.begin, dataStart + e.end), where) }]),
  );
  return { tensors, metadata };
}

function readHeader(bytes: Uint8Array, where: string | undefined): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) fail(where, `is ${bytes.length} bytes long, too short for the 8-byte header length`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8)) fail(where, `header length ${length} runs past the end of the file (${bytes.length} bytes)`);
  if (length > BigInt(MAX_HEADER_BYTES)) fail(where, `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const dataStart = 8 + Number(length);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    fail(where, `header is not valid UTF-8 JSON (${errorMessage(error)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(where, 'header is not a JSON object');
  return { header: header as Record<string, unknown>, dataStart };
}

function parseMetadata(value: unknown, where: string | undefined): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(where, '__metadata__ is not an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    if (typeof v !== 'string') fail(where, `__metadata__ value of "${key}" is not a string`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, where: string | undefined): TensorEntry {
  const at = `tensor "${name}"`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(where, `${at} is not an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string' || !(dtype in BYTES_PER_ELEMENT)) {
    fail(where, `${at} has unknown dtype ${JSON.stringify(dtype)}; known: ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(where, `${at} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    fail(where, `${at} has data_offsets ${JSON.stringify(offsets)}, not [begin, end] with 0 <= begin <= end`);
  }
  const elements = elementCount(shape as number[]);
  const expected = elements * BYTES_PER_ELEMENT[dtype as DType];
  const actual = offsets[1] - offsets[0];
  if (!Number.isSafeInteger(expected) || expected !== actual) {
    fail(where, `${at}: shape ${JSON.stringify(shape)} of ${dtype} needs ${expected} bytes, but data_offsets span ${actual}`);
  }
  return { name, dtype: dtype as DType, shape: shape as number[], begin: offsets[0], end: offsets[1] };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function elementCount(shape: number[]): number {
  return shape.reduce((product, n) => product * n, 1);
}

/** Tensors must tile the data buffer exactly: no overlap, no gap, nothing left over (as the reference reader demands). */
function checkLayout(entries: TensorEntry[], dataLength: number, where: string | undefined): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  for (const e of sorted) {
    if (e.begin < position) fail(where, `tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ending at ${position})`);
    if (e.begin > position) fail(where, `tensor "${e.name}" starts at ${e.begin}, leaving a gap after byte ${position}`);
    position = e.end;
  }
  if (position > dataLength) fail(where, `tensor data ends at byte ${position} but only ${dataLength} bytes follow the header`);
  if (position < dataLength) fail(where, `${dataLength - position} bytes after the last tensor belong to no tensor`);
}

function decodeData(entry: TensorEntry, raw: Uint8Array, where: string | undefined): TensorData['data'] {
  // Copy into a fresh, aligned buffer so the typed views below never see misaligned offsets
  // (and never alias a Buffer's shared pool, whose slice() does not copy).
  const buffer = new Uint8Array(raw).buffer;
  switch (entry.dtype) {
    case 'F16':
      return halfBitsToFloat32Array(new Uint16Array(buffer));
    case 'F32':
      return new Float32Array(buffer);
    case 'F64':
      return new Float64Array(buffer);
    case 'I8':
      return new Int8Array(buffer);
    case 'I16':
      return new Int16Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
    case 'I64':
      return new BigInt64Array(buffer);
    case 'U8':
      return new Uint8Array(buffer);
    case 'U16':
      return new Uint16Array(buffer);
    case 'U32':
      return new Uint32Array(buffer);
    case 'BOOL':
      return checkBool(new Uint8Array(buffer), entry.name, where);
  }
}

function checkBool(values: Uint8Array, name: string, where: string | undefined): Uint8Array {
  const bad = values.findIndex((v) => v > 1);
  if (bad >= 0) fail(where, `BOOL tensor "${name}" holds byte ${values[bad]} at element ${bad}; only 0 and 1 are booleans`);
  return values;
}

type TypedArrayClass = { new (length: number): TensorData['data']; name: string };
const ARRAY_TYPES: Record<DType, TypedArrayClass> = {
  F16: Float32Array, F32: Float32Array, F64: Float64Array, I8: Int8Array, I16: Int16Array, I32: Int32Array,
  I64: BigInt64Array, U8: Uint8Array, U16: Uint16Array, U32: Uint32Array, BOOL: Uint8Array,
};

/** Tensors in sorted-name order; the header is padded with spaces so the data starts 8-byte aligned. */
export function encodeSafetensors(tensors: Record<string, TensorData>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort(compareCodeUnits);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header[METADATA_KEY] = checkedMetadata(metadata);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) throw new UserError(`a tensor cannot be named "${METADATA_KEY}"`);
    const bytes = tensorBytes(name, tensors[name]);
    Object.defineProperty(header, name, {
      value: { dtype: tensors[name].dtype, shape: tensors[name].shape, data_offsets: [offset, offset + bytes.length] },
      enumerable: true,
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  return assemble(JSON.stringify(header), chunks, offset);
}

function checkedMetadata(metadata: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new UserError(`safetensors metadata "${key}" must be a string, not ${typeof value}`);
  }
  return metadata;
}

function tensorBytes(name: string, tensor: TensorData): Uint8Array {
  const { dtype, shape, data } = tensor;
  if (!(dtype in BYTES_PER_ELEMENT)) throw new UserError(`tensor "${name}" has unknown dtype "${dtype}"; known: ${SAFETENSORS_DTYPES.join(', ')}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new UserError(`tensor "${name}" has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
  if (!(data instanceof ARRAY_TYPES[dtype])) {
    throw new UserError(`tensor "${name}" of dtype ${dtype} needs a ${ARRAY_TYPES[dtype].name}, got ${describe(data)}`);
  }
  if (data.length !== elementCount(shape)) throw new UserError(`tensor "${name}" has ${data.length} values but shape ${JSON.stringify(shape)} needs ${elementCount(shape)}`);
  if (dtype === 'BOOL') checkBool(data as Uint8Array, name, undefined);
  const typed = dtype === 'F16' ? floatArrayToHalfBits(data as Float32Array) : data;
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

function describe(value: unknown): string {
  return (value as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof value;
}

function assemble(headerJson: string, chunks: Uint8Array[], dataLength: number): Uint8Array {
  const encoded = new TextEncoder().encode(headerJson);
  const padded = Math.ceil(encoded.length / 8) * 8;
  const out = new Uint8Array(8 + padded + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(encoded, 8);
  out.fill(0x20, 8 + encoded.length, 8 + padded);
  let position = 8 + padded;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

export async function writeSafetensorsFile(path: string, tensors: Record<string, TensorData>, metadata?: Record<string, string>): Promise<void> {
  await writeTextFile(path, encodeSafetensors(tensors, metadata));
  await fsyncPath(path);
}

export async function readSafetensorsFile(path: string): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UserError(`cannot read safetensors file ${path}: ${errorMessage(error)}`);
  }
  return decodeSafetensors(bytes, path);
}
