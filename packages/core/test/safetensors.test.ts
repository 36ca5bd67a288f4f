import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UserError,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  writeSafetensorsFile,
  type DType,
  type TensorData,
} from '../src/index.js';

const samples = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'safetensors-samples');

// The README's table: file letter -> dtype; every tensor holds -3..2 cast to its dtype.
const SAMPLE_DTYPES: Record<string, DType> = { B: 'U8', H: 'U16', I: 'U32', b: 'I8', d: 'F64', e: 'F16', f: 'F32', h: 'I16', i: 'I32' };
const UNSIGNED_BITS: Partial<Record<DType, number>> = { U8: 8, U16: 16, U32: 32 };

function expectedValues(dtype: DType): number[] {
  const bits = UNSIGNED_BITS[dtype];
  return [-3, -2, -1, 0, 1, 2].map((v) => (bits && v < 0 ? 2 ** bits + v : v));
}

function expectSampleTensor(tensor: TensorData, dtype: DType): void {
  expect(tensor.dtype).toBe(dtype);
  expect(tensor.shape).toEqual([6]);
  expect(Array.from(tensor.data as ArrayLike<number>)).toEqual(expectedValues(dtype));
}

describe('safetensors reference samples', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'lenna-st-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('covers every sample file', async () => {
    const files = (await readdir(samples)).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files).toEqual([...Object.keys(SAMPLE_DTYPES).map((k) => `${k}.safetensors`), 'overall.safetensors'].sort());
  });

  it.each(Object.entries(SAMPLE_DTYPES))('reads %s.safetensors (%s) and round-trips it', async (name, dtype) => {
    const content = await readSafetensorsFile(join(samples, `${name}.safetensors`));
    expect(content.metadata).toEqual({ test: 'a' });
    expect(Object.keys(content.tensors)).toEqual([name]);
    expectSampleTensor(content.tensors[name], dtype);
    const path = join(tmp, `${name}.safetensors`);
    await writeSafetensorsFile(path, content.tensors, content.metadata);
    const again = await readSafetensorsFile(path);
    expect(again.metadata).toEqual({ test: 'a' });
    expectSampleTensor(again.tensors[name], dtype);
  });

  it('reads overall.safetensors with all nine tensors and round-trips it byte-stably', async () => {
    const bytes = await readFile(join(samples, 'overall.safetensors'));
    const content = decodeSafetensors(bytes, 'overall.safetensors');
    expect(Object.keys(content.tensors).sort()).toEqual(Object.keys(SAMPLE_DTYPES).sort());
    for (const [name, dtype] of Object.entries(SAMPLE_DTYPES)) expectSampleTensor(content.tensors[name], dtype);
    const encoded = encodeSafetensors(content.tensors, content.metadata);
    const decoded = decodeSafetensors(encoded);
    for (const [name, dtype] of Object.entries(SAMPLE_DTYPES)) expectSampleTensor(decoded.tensors[name], dtype);
    expect(encodeSafetensors(decoded.tensors, decoded.metadata)).toEqual(encoded);
  });
});

describe('safetensors writer', () => {
  it('writes sorted names, pads the header with spaces to 8 bytes, and the data little-endian', () => {
    const bytes = encodeSafetensors({
      z: { dtype: 'I64', shape: [1], data: BigInt64Array.from([-2n]) },
      a: { dtype: 'BOOL', shape: [2, 1], data: Uint8Array.from([1, 0]) },
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(header).toBe('{"a":{"dtype":"BOOL","shape":[2,1],"data_offsets":[0,2]},"z":{"dtype":"I64","shape":[1],"data_offsets":[2,10]}}'.padEnd(headerLength, ' '));
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([1, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it('rounds F16 values on write and handles empty tensors and odd names', () => {
    const content = decodeSafetensors(
      encodeSafetensors({
        half: { dtype: 'F16', shape: [3], data: Float32Array.from([0.1, 65504, -Infinity]) },
        empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
        __proto__x: { dtype: 'U8', shape: [], data: Uint8Array.from([7]) },
      }),
    );
    const proto = decodeSafetensors(encodeSafetensors(Object.fromEntries([['__proto__', { dtype: 'I8', shape: [1], data: Int8Array.from([-1]) }]])));
    expect(Object.keys(proto.tensors)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(proto.tensors, '__proto__')?.value.data).toEqual(Int8Array.from([-1]));
    expect(Array.from(content.tensors.half.data as Float32Array)).toEqual([Math.fround(0.0999755859375), 65504, -Infinity]);
    expect(content.tensors.empty.shape).toEqual([0, 4]);
    expect(content.tensors.__proto__x.data).toEqual(Uint8Array.from([7]));
    expect(content.metadata).toEqual({});
  });

  it('refuses tensors whose data does not match dtype or shape', () => {
    expect(() => encodeSafetensors({ t: { dtype: 'F32', shape: [2], data: new Float64Array(2) } })).toThrow(/needs a Float32Array, got Float64Array/);
    expect(() => encodeSafetensors({ t: { dtype: 'I32', shape: [3], data: new Int32Array(2) } })).toThrow(/has 2 values but shape \[3\] needs 3/);
    expect(() => encodeSafetensors({ t: { dtype: 'Q8' as DType, shape: [1], data: new Uint8Array(1) } })).toThrow(/unknown dtype "Q8"/);
    expect(() => encodeSafetensors({ t: { dtype: 'BOOL', shape: [1], data: Uint8Array.from([2]) } })).toThrow(/only 0 and 1/);
  });
});

/** A file built by hand, so malformed headers can be written exactly. */
function rawFile(header: unknown, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const t = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

describe('safetensors reader on malformed input', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /too short/],
    ['header length past the end', rawFile({}, new Uint8Array(0), 1000n), /runs past the end/],
    ['header length near 2^64', rawFile({}, new Uint8Array(0), 2n ** 64n - 1n), /runs past the end/],
    ['invalid JSON', rawFile('{"a": ', new Uint8Array(0)), /not valid UTF-8 JSON/],
    ['header not an object', rawFile('[1,2]', new Uint8Array(0)), /not a JSON object/],
    ['unknown dtype', rawFile({ x: t('F8', [1], 0, 1) }, new Uint8Array(1)), /tensor "x" has unknown dtype "F8"/],
    ['shape/size mismatch', rawFile({ x: t('F32', [2], 0, 4) }, new Uint8Array(4)), /tensor "x": shape \[2\] of F32 needs 8 bytes, but data_offsets span 4/],
    ['bad shape', rawFile({ x: t('U8', [-1], 0, 0) }, new Uint8Array(0)), /tensor "x" has shape \[-1\]/],
    ['offsets reversed', rawFile({ x: t('U8', [0], 3, 2) }, new Uint8Array(3)), /tensor "x" has data_offsets \[3,2\]/],
    ['offsets out of range', rawFile({ x: t('U8', [4], 0, 4) }, new Uint8Array(2)), /ends at byte 4 but only 2 bytes/],
    ['overlap', rawFile({ x: t('U8', [2], 0, 2), y: t('U8', [2], 1, 3) }, new Uint8Array(3)), /tensor "y" .* overlap/],
    ['gap', rawFile({ x: t('U8', [1], 0, 1), y: t('U8', [1], 2, 3) }, new Uint8Array(3)), /tensor "y" starts at 2, leaving a gap/],
    ['trailing bytes', rawFile({ x: t('U8', [1], 0, 1) }, new Uint8Array(3)), /2 bytes after the last tensor/],
    ['metadata not strings', rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__ value of "a"/],
    ['entry not an object', rawFile({ x: 5 }, new Uint8Array(0)), /tensor "x" is not an object/],
    ['bool byte not 0/1', rawFile({ x: t('BOOL', [1], 0, 1) }, Uint8Array.from([9])), /BOOL tensor "x" holds byte 9/],
  ];

  it.each(cases)('%s: a UserError naming the file', (_name, bytes, pattern) => {
    let caught: unknown;
    try {
      decodeSafetensors(bytes, 'bad.safetensors');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as Error).message).toMatch(/^bad\.safetensors: /);
    expect((caught as Error).message).toMatch(pattern);
  });
});

/** A decode either succeeds with a self-consistent result or throws UserError: never another error type. */
function decodeOutcome(bytes: Uint8Array): 'ok' | 'rejected' {
  try {
    const { tensors } = decodeSafetensors(bytes, 'fuzz');
    for (const tensor of Object.values(tensors)) {
      expect(tensor.data.length).toBe(tensor.shape.reduce((a, b) => a * b, 1));
    }
    return 'ok';
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    expect(error.message.length).toBeGreaterThan(0);
    return 'rejected';
  }
}

const dtypeArb = fc.constantFrom<DType>('F16', 'F32', 'F64', 'I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'BOOL');

function tensorArb(): fc.Arbitrary<TensorData> {
  return fc.tuple(dtypeArb, fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.integer({ min: 0, max: 2 ** 31 })).map(([dtype, shape, seed]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => ((seed + i * 7919) % 200) - 100);
    const data =
      dtype === 'I64' ? BigInt64Array.from(values.map(BigInt))
      : dtype === 'BOOL' ? Uint8Array.from(values.map((v) => (v > 0 ? 1 : 0)))
      : dtype === 'F16' || dtype === 'F32' ? Float32Array.from(values.map((v) => v / 4))
      : dtype === 'F64' ? Float64Array.from(values.map((v) => v / 3))
      : dtype === 'I8' ? Int8Array.from(values) : dtype === 'I16' ? Int16Array.from(values) : dtype === 'I32' ? Int32Array.from(values)
      : dtype === 'U8' ? Uint8Array.from(values.map((v) => v + 100)) : dtype === 'U16' ? Uint16Array.from(values.map((v) => v + 100)) : Uint32Array.from(values.map((v) => v + 100));
    return { dtype, shape, data };
  });
}

const filesArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s !== '__metadata__'), tensorArb(), { maxKeys: 4 });
const metadataArb = fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 });

describe('safetensors fuzzing', () => {
  it('round-trips random tensors', () => {
    fc.assert(
      fc.property(filesArb, metadataArb, (tensors, metadata) => {
        const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
        expect(decoded.metadata).toEqual(metadata);
        expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, tensor] of Object.entries(tensors)) {
          expect(decoded.tensors[name].dtype).toBe(tensor.dtype);
          expect(decoded.tensors[name].shape).toEqual(tensor.shape);
          expect(Array.from(decoded.tensors[name].data as ArrayLike<number>)).toEqual(Array.from(tensor.data as ArrayLike<number>));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes are decoded or rejected with a UserError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void decodeOutcome(bytes)), { numRuns: 500 });
  });

  it('random bytes behind a plausible header length are decoded or rejected with a UserError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 16 }), (header, data) => void decodeOutcome(rawFile(header, data))),
      { numRuns: 500 },
    );
  });

  it('mutations of valid files are decoded consistently or rejected with a UserError', () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(filesArb, mutation, fc.nat(), (tensors, edits, cut) => {
        const bytes = encodeSafetensors(tensors, { k: 'v' });
        const mutated = bytes.slice();
        for (const [position, value] of edits) mutated[position % mutated.length] = value;
        decodeOutcome(mutated);
        decodeOutcome(bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      { numRuns: 500 },
    );
  });

  it('header edits that keep valid JSON are decoded consistently or rejected with a UserError', () => {
    const numberEdit = fc.oneof(fc.integer({ min: -5, max: 40 }), fc.constant(2 ** 53), fc.constant(1.5));
    fc.assert(
      fc.property(filesArb.filter((x) => Object.keys(x).length > 0), fc.nat(), numberEdit, fc.boolean(), (tensors, pick, value, editShape) => {
        const bytes = encodeSafetensors(tensors);
        const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, { shape: number[]; data_offsets: number[] }>;
        const entry = header[Object.keys(header)[pick % Object.keys(header).length]];
        const list = editShape ? entry.shape : entry.data_offsets;
        if (list.length > 0) list[pick % list.length] = value;
        decodeOutcome(rawFile(header, bytes.subarray(8 + length)));
      }),
      { numRuns: 500 },
    );
  });
});
