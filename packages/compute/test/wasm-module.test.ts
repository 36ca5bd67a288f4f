import { describe, expect, it } from 'vitest';
import { addTo, assembleModule, countDown, I32, leb, memoryBound, op, sleb, vec, wasmApi } from '../src/wasm-module.js';

describe('leb', () => {
  it('encodes unsigned LEB128 as the spec does (hand-checked values)', () => {
    expect(leb(0)).toEqual([0]);
    expect(leb(127)).toEqual([0x7f]);
    expect(leb(128)).toEqual([0x80, 0x01]);
    expect(leb(624485)).toEqual([0xe5, 0x8e, 0x26]);
  });
});

describe('sleb', () => {
  it('encodes signed LEB128 as the spec does (hand-checked values)', () => {
    expect(sleb(0)).toEqual([0]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-128)).toEqual([0x80, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});

describe('op, addTo and countDown', () => {
  // triangle(ptr, n; acc 2): do { acc += n } while (--n); i32.store ptr acc + 64 (an immediate that needs two bytes)
  const body = [
    ...vec([[1, I32]]),
    ...countDown(1, addTo(2, 1)),
    ...op.get(0), ...op.get(2), ...op.i32(64), ...op.i32Add, 0x36, 0x02, 0x00,
    ...op.end,
  ];
  it('run a counted loop: n + (n − 1) + … + 1', () => {
    const memory = new wasmApi.Memory({ initial: 1 });
    const { triangle } = memoryBound<{ triangle(p: number, n: number): void }>(assembleModule([{ name: 'triangle', params: 2, body }]))(memory);
    triangle(0, 10);
    triangle(4, 1);
    expect(Array.from(new Int32Array(memory.buffer, 0, 2))).toEqual([55 + 64, 1 + 64]);
  });
});

describe('assembleModule', () => {
  // put(ptr, value): i32.store at ptr; add3(ptr, a, b): i32.store ptr (a + b)
  const put = { name: 'put', params: 2, body: [...vec([]), 0x20, 0, 0x20, 1, 0x36, 0x02, 0x00, 0x0b] };
  const add = { name: 'add', params: 3, body: [...vec([]), 0x20, 0, 0x20, 1, 0x20, 2, 0x6a, 0x36, 0x02, 0x00, 0x0b] };
  const bind = memoryBound<{ put(p: number, v: number): void; add(p: number, a: number, b: number): void }>(assembleModule([put, add]));

  it('exports functions of several arities that write into the imported memory', () => {
    const memory = new wasmApi.Memory({ initial: 1 });
    const fns = bind(memory);
    fns.put(8, 41);
    fns.add(12, 40, 2);
    const words = new Int32Array(memory.buffer, 0, 4);
    expect(Array.from(words)).toEqual([0, 0, 41, 42]);
  });

  it('instantiates once per memory', () => {
    const a = new wasmApi.Memory({ initial: 1 });
    const b = new wasmApi.Memory({ initial: 1 });
    expect(bind(a)).toBe(bind(a));
    expect(bind(a)).not.toBe(bind(b));
  });
});
