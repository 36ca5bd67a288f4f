import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { assembleModule, leb, memoryBound, sleb, wasmApi, type WasmFunction } from '../src/wasm/module.js';
import { addTo, block, br, br_if, countDown, f32x4, i32, local, loop, v128, wasmFunction, whileBelow } from '../src/wasm/code.js';
import { SIMD_LOOP_FUNCTIONS } from '../src/kernels/simd.js';
import { BN_SIMD_FUNCTIONS } from '../src/kernels/bn-simd.js';
import { FILTER_GRAD_TILES } from '../src/kernels/filter-grad-simd.js';

const wabt = await wabtInit();

/** wabt's wat2wasm of a module that imports env.memory as the kernels' modules do. */
function wat2wasm(funcs: string): Uint8Array {
  const text = `(module (import "env" "memory" (memory 1)) ${funcs})`;
  const module = wabt.parseWat('test.wat', text, { simd: true });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** wabt's disassembly (WAT) of a binary module, with the names from its name section. */
function wasm2wat(bytes: Uint8Array): string {
  const module = wabt.readWasm(bytes, { readDebugNames: true, simd: true } as { readDebugNames: boolean });
  try {
    module.applyNames();
    return module.toText({ foldExprs: false, inlineExport: false });
  } finally {
    module.destroy();
  }
}

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

describe('the typed builder against wabt', () => {
  // Every instruction of the builder's vocabulary, immediates that need one and several LEB bytes,
  // branches to depth 0, 1 and 2, locals in three runs of types, and two arities.
  const everything = wasmFunction('everything', (f) => {
    const { p, n } = f.params('p', 'n');
    const { i } = f.locals('i32', 'i');
    const { a, b } = f.locals('v128', 'a', 'b');
    const { t } = f.locals('i32', 't');
    return [
      local.set(a, v128.load(p, 16)),
      local.set(b, v128.load32_splat(p, 300)),
      v128.store(p, v128.or(v128.andnot(f32x4.eq(a, b), v128.zero()), v128.and(f32x4.gt(a, b), a)), 624485),
      v128.store(p, f32x4.add(f32x4.sub(a, b), f32x4.mul(a, b))),
      block((exit) => [
        loop((again) => [
          block((skip) => [br_if(skip, i32.ge_u(i, 64)), br_if(exit, i32.load(p, 4))]),
          local.set(t, local.tee(i, i32.add(i, -123456))),
          i32.store(p, i32.shr_u(i32.shl(i32.mul(t, 3), 2), i32.sub(n, i32.const(-1))), 8),
          br(again),
        ]),
      ]),
    ];
  });
  const everythingWat = `
    (func (export "everything") (param $p i32) (param $n i32)
      (local $i i32) (local $a v128) (local $b v128) (local $t i32)
      (local.set $a (v128.load offset=16 align=1 (local.get $p)))
      (local.set $b (v128.load32_splat offset=300 align=1 (local.get $p)))
      (v128.store offset=624485 align=1 (local.get $p)
        (v128.or
          (v128.andnot (f32x4.eq (local.get $a) (local.get $b)) (v128.const i32x4 0 0 0 0))
          (v128.and (f32x4.gt (local.get $a) (local.get $b)) (local.get $a))))
      (v128.store align=1 (local.get $p)
        (f32x4.add (f32x4.sub (local.get $a) (local.get $b)) (f32x4.mul (local.get $a) (local.get $b))))
      (block $exit
        (loop $again
          (block $skip
            (br_if $skip (i32.ge_u (local.get $i) (i32.const 64)))
            (br_if $exit (i32.load offset=4 align=1 (local.get $p))))
          (local.set $t (local.tee $i (i32.add (local.get $i) (i32.const -123456))))
          (i32.store offset=8 align=1 (local.get $p)
            (i32.shr_u
              (i32.shl (i32.mul (local.get $t) (i32.const 3)) (i32.const 2))
              (i32.sub (local.get $n) (i32.const -1))))
          (br $again))))`;
  const helpers = wasmFunction('helpers', (f) => {
    const { p, n, step } = f.params('p', 'n', 'step');
    const { acc } = f.locals('i32', 'acc');
    return [countDown(n, [addTo(acc, step)]), whileBelow(acc, p, [addTo(acc, 1)])];
  });
  const helpersWat = `
    (func (export "helpers") (param $p i32) (param $n i32) (param $step i32) (local $acc i32)
      (loop $again
        (local.set $acc (i32.add (local.get $acc) (local.get $step)))
        (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (block $exit
        (loop $next
          (br_if $exit (i32.ge_u (local.get $acc) (local.get $p)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          (br $next))))`;

  it('encodes a module byte for byte as wabt assembles the same WAT', () => {
    expect(Array.from(assembleModule([everything, helpers]))).toEqual(Array.from(wat2wasm(everythingWat + helpersWat)));
  });

  it('writes a name section wabt reads back: functions and locals by name', () => {
    const text = wasm2wat(assembleModule([everything, helpers], { names: true }));
    expect(text).toContain('(func $everything (type 0) (param $p i32) (param $n i32)');
    expect(text).toContain('(local $i i32) (local $a v128) (local $b v128) (local $t i32)');
    expect(text).toContain('local.tee $i');
    expect(text).toContain('(func $helpers (type 1) (param $p i32) (param $n i32) (param $step i32)');
  });

  it('writes unsigned constants as their 32-bit pattern and refuses what is not a 32-bit integer', () => {
    const constant = (value: number) => wasmFunction('c', (f) => [i32.store(f.params('p').p, value)]).body;
    expect(constant(0xffffffff)).toEqual(constant(-1));
    expect(() => constant(2 ** 32)).toThrow(/not a 32-bit integer/);
    expect(() => constant(0.5)).toThrow(/not a 32-bit integer/);
  });

  it('refuses a branch to a label it is not inside, a parameter after a local, and a name used twice', () => {
    expect(() => wasmFunction('f', () => [loop(() => [br(leakedLabel())])])).toThrow(/not inside/);
    expect(() => wasmFunction('f', (f) => (f.locals('i32', 'a'), f.params('p'), []))).toThrow(/declared after a local/);
    expect(() => wasmFunction('f', (f) => (f.params('p'), f.locals('v128', 'p'), []))).toThrow(/declared twice/);
  });
});

// Checked by the typecheck (npm test runs it): each line below must be a type error.
const _typeErrors = () =>
  wasmFunction('typed', (f) => {
    const { p } = f.params('p');
    const { a } = f.locals('v128', 'a');
    return [
      // @ts-expect-error an i32 is not a vector operand
      v128.store(p, f32x4.add(p, a)),
      // @ts-expect-error a vector is not an address
      v128.store(a, a),
      // @ts-expect-error a local takes values of its own type
      local.set(a, p),
      // @ts-expect-error a value left on the stack is not a statement
      block(() => [v128.load(p)]),
    ];
  });

/** A label from a block whose scope has ended. */
function leakedLabel() {
  let leaked: Parameters<typeof br>[0] | undefined;
  block((exit) => ((leaked = exit), []));
  return leaked!;
}

describe('assembleModule', () => {
  // triangle(ptr, n; acc): do { acc += n } while (--n); *ptr = acc + 64
  const triangle = wasmFunction('triangle', (f) => {
    const { ptr, n } = f.params('ptr', 'n');
    const { acc } = f.locals('i32', 'acc');
    return [countDown(n, [addTo(acc, n)]), i32.store(ptr, i32.add(acc, 64))];
  });
  // add(ptr, a, b): *ptr = a + b
  const add = wasmFunction('add', (f) => {
    const { ptr, a, b } = f.params('ptr', 'a', 'b');
    return [i32.store(ptr, i32.add(a, b))];
  });
  const bind = memoryBound<{ triangle(p: number, n: number): void; add(p: number, a: number, b: number): void }>(assembleModule([triangle, add]));

  it('exports functions of several arities that write into the imported memory', () => {
    const memory = new wasmApi.Memory({ initial: 1 });
    const fns = bind(memory);
    fns.triangle(0, 10);
    fns.triangle(4, 1);
    fns.add(12, 40, 2);
    expect(Array.from(new Int32Array(memory.buffer, 0, 4))).toEqual([55 + 64, 1 + 64, 0, 42]);
  });

  it('instantiates once per memory', () => {
    const a = new wasmApi.Memory({ initial: 1 });
    const b = new wasmApi.Memory({ initial: 1 });
    expect(bind(a)).toBe(bind(a));
    expect(bind(a)).not.toBe(bind(b));
  });
});

describe("the kernels' modules", () => {
  const modules: Array<[string, WasmFunction[]]> = [
    ['SIMD loops', SIMD_LOOP_FUNCTIONS],
    ['BatchNorm', BN_SIMD_FUNCTIONS],
    ['filter-gradient tiles', FILTER_GRAD_TILES],
  ];
  it.each(modules)('%s: valid with and without names, and wabt names every parameter', (_, functions) => {
    expect(wasmApi.validate(assembleModule(functions))).toBe(true);
    const named = assembleModule(functions, { names: true });
    expect(wasmApi.validate(named)).toBe(true);
    const text = wasm2wat(named);
    for (const f of functions) expect(text).toContain(`(func $${f.name} `);
    expect(text).not.toMatch(/\$p\d+|\$l\d+/);
  });
});
