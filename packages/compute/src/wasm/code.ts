/**
 * A small typed builder for WebAssembly function bodies, written like WAT's folded form:
 *
 *   v128.store(dx, v128.and(v128.load(dy), f32x4.gt(v128.load(x), zero)))
 *
 * is `(v128.store (local.get $dx) (v128.and (v128.load (local.get $dy)) (f32x4.gt …)))`. Instructions
 * carry WAT's names; locals are named objects, and a local used as an operand is its `local.get`;
 * each expression is typed by the value it leaves (an i32 where a v128 belongs does not compile);
 * `block` and `loop` hand their body a label, which `br`/`br_if` take instead of a depth. Operands
 * are emitted before their instruction, so the bytes are the stack-machine sequence one would
 * write out by hand, and nothing is added.
 *
 * The vocabulary is what LENNA's kernels use (plus i32 load/store for tests); memory accesses claim
 * no alignment (WAT's align=1: the kernels' operands start at any float).
 */

import { leb, sleb, vec, type WasmFunction } from './module.js';

export type ValueType = 'i32' | 'v128';
const TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, v128: 0x7b };

/** A block or loop's branch target; `br` to a block leaves it, to a loop starts its next turn. */
export class Label {
  constructor(readonly kind: 'block' | 'loop') {}
}

/** Where code is written: the bytes so far and the labels in scope, innermost last. */
interface Emitter {
  bytes: number[];
  labels: Label[];
}

/** Code that leaves one value of type T on the stack, or nothing ('void': a statement). */
export interface Code<T extends ValueType | 'void'> {
  readonly type: T;
  emit(out: Emitter): void;
}
export type I32 = Code<'i32'>;
export type V128 = Code<'v128'>;
export type Stmt = Code<'void'>;
/** An i32 operand: an expression, or a number (written as i32.const). */
export type I32Operand = I32 | number;

/** A parameter or local; as an operand, its `local.get`. */
export class Local<T extends ValueType> implements Code<T> {
  constructor(
    readonly name: string,
    readonly type: T,
    readonly index: number,
  ) {}
  emit(out: Emitter): void {
    out.bytes.push(0x20, ...leb(this.index));
  }
}

type Operand = Code<ValueType> | number;

/** `i32.const value`'s bytes; the value must be a 32-bit integer (signed or not). */
function i32Const(value: number): number[] {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 32) throw new Error(`i32.const ${value} is not a 32-bit integer; pass an integer in [-2^31, 2^32).`);
  return [0x41, ...sleb(value | 0)];
}

function emitOperand(out: Emitter, operand: Operand): void {
  if (typeof operand === 'number') out.bytes.push(...i32Const(operand));
  else operand.emit(out);
}

/** An instruction: its operands (in stack order), then its opcode and immediates. */
function instr<T extends ValueType | 'void'>(type: T, opcode: number[], ...operands: Operand[]): Code<T> {
  return {
    type,
    emit(out) {
      for (const operand of operands) emitOperand(out, operand);
      out.bytes.push(...opcode);
    },
  };
}

const SIMD = 0xfd;
/** A memory access's immediates: alignment 2^0 (none claimed), then the constant byte offset. */
const memarg = (offset: number) => [0x00, ...leb(offset)];

export const i32 = {
  const: (value: number): I32 => instr('i32', i32Const(value)),
  add: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x6a], a, b),
  sub: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x6b], a, b),
  mul: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x6c], a, b),
  shl: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x74], a, b),
  shr_u: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x76], a, b),
  ge_u: (a: I32Operand, b: I32Operand): I32 => instr('i32', [0x4f], a, b),
  load: (address: I32Operand, offset = 0): I32 => instr('i32', [0x28, ...memarg(offset)], address),
  store: (address: I32Operand, value: I32Operand, offset = 0): Stmt => instr('void', [0x36, ...memarg(offset)], address, value),
};

export const v128 = {
  load: (address: I32Operand, offset = 0): V128 => instr('v128', [SIMD, 0x00, ...memarg(offset)], address),
  /** One float (4 bytes) copied into all four lanes. */
  load32_splat: (address: I32Operand, offset = 0): V128 => instr('v128', [SIMD, 0x09, ...memarg(offset)], address),
  store: (address: I32Operand, value: V128, offset = 0): Stmt => instr('void', [SIMD, 0x0b, ...memarg(offset)], address, value),
  /** `v128.const i32x4 0 0 0 0`. */
  zero: (): V128 => instr('v128', [SIMD, 0x0c, ...new Array<number>(16).fill(0)]),
  and: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0x4e], a, b),
  /** a ∧ ¬b. */
  andnot: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0x4f], a, b),
  or: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0x50], a, b),
};

/** Lane-wise float arithmetic; comparisons give all-ones lanes where true, zeros elsewhere. */
export const f32x4 = {
  eq: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0x41], a, b),
  gt: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0x44], a, b),
  add: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0xe4, 0x01], a, b),
  sub: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0xe5, 0x01], a, b),
  mul: (a: V128, b: V128): V128 => instr('v128', [SIMD, 0xe6, 0x01], a, b),
};

/** What a local of type T takes (NoInfer: the local alone decides T, so a mismatched value is an error). */
type ValueFor<T extends ValueType> = NoInfer<{ i32: I32Operand; v128: V128 }[T]>;

/** `local.get` is the local itself. */
export const local = {
  set: <T extends ValueType>(target: Local<T>, value: ValueFor<T>): Stmt => instr('void', [0x21, ...leb(target.index)], value),
  /** local.set that also leaves the value. */
  tee: <T extends ValueType>(target: Local<T>, value: ValueFor<T>): Code<T> => instr(target.type, [0x22, ...leb(target.index)], value),
};

function structured(kind: 'block' | 'loop', opcode: number, body: (label: Label) => Stmt[]): Stmt {
  const label = new Label(kind);
  const code = body(label);
  return {
    type: 'void',
    emit(out) {
      out.bytes.push(opcode, 0x40); // 0x40: the block leaves no value
      out.labels.push(label);
      for (const stmt of code) stmt.emit(out);
      out.labels.pop();
      out.bytes.push(0x0b);
    },
  };
}

/** `block … end`; a branch to its label jumps past the end. */
export const block = (body: (exit: Label) => Stmt[]): Stmt => structured('block', 0x02, body);
/** `loop … end`; a branch to its label jumps back to the start (falling off the end leaves it). */
export const loop = (body: (again: Label) => Stmt[]): Stmt => structured('loop', 0x03, body);

function depth(out: Emitter, label: Label): number {
  const at = out.labels.lastIndexOf(label);
  if (at < 0) throw new Error(`A branch targets a ${label.kind} it is not inside; branch only to enclosing blocks and loops.`);
  return out.labels.length - 1 - at;
}

export const br = (label: Label): Stmt => ({ type: 'void', emit: (out) => out.bytes.push(0x0c, ...leb(depth(out, label))) });
export const br_if = (label: Label, condition: I32Operand): Stmt => ({
  type: 'void',
  emit(out) {
    emitOperand(out, condition);
    out.bytes.push(0x0d, ...leb(depth(out, label)));
  },
});

/** `local += step` (i32). */
export const addTo = (target: Local<'i32'>, step: I32Operand): Stmt => local.set(target, i32.add(target, step));

/** `do { body } while (--counter != 0)`: the count must not start at zero. */
export const countDown = (counter: Local<'i32'>, body: Stmt[]): Stmt =>
  loop((again) => [...body, br_if(again, local.tee(counter, i32.sub(counter, 1)))]);

/** `while (a < b, unsigned) { body }`: body moves a or b on. */
export const whileBelow = (a: I32Operand, b: I32Operand, body: Stmt[]): Stmt =>
  block((exit) => [loop((again) => [br_if(exit, i32.ge_u(a, b)), ...body, br(again)])]);

/** Declares a function's parameters (all i32, first) and locals (zero on entry), in index order. */
export class FunctionBuilder {
  private readonly declared: Array<Local<ValueType>> = [];
  private paramCount = 0;

  constructor(readonly name: string) {}

  /** Named i32 parameters, in the order callers pass them. */
  params<const N extends string>(...names: N[]): Record<N, Local<'i32'>> {
    return Object.fromEntries(names.map((n) => [n, this.param(n)])) as Record<N, Local<'i32'>>;
  }

  /** `count` i32 parameters `name0`, `name1`, …. */
  paramList(name: string, count: number): Array<Local<'i32'>> {
    return Array.from({ length: count }, (_, i) => this.param(`${name}${i}`));
  }

  /** Named locals of one type. */
  locals<T extends ValueType, const N extends string>(type: T, ...names: N[]): Record<N, Local<T>> {
    return Object.fromEntries(names.map((n) => [n, this.add(n, type)])) as Record<N, Local<T>>;
  }

  /** `count` locals `name0`, `name1`, … of one type. */
  localList<T extends ValueType>(type: T, name: string, count: number): Array<Local<T>> {
    return Array.from({ length: count }, (_, i) => this.add(`${name}${i}`, type));
  }

  private param(name: string): Local<'i32'> {
    if (this.declared.length > this.paramCount) throw new Error(`${this.name}: parameter ${name} is declared after a local; declare every parameter first.`);
    this.paramCount++;
    return this.add(name, 'i32');
  }

  private add<T extends ValueType>(name: string, type: T): Local<T> {
    if (this.declared.some((l) => l.name === name)) throw new Error(`${this.name}: ${name} is declared twice; give each parameter and local its own name.`);
    const l = new Local(name, type, this.declared.length);
    this.declared.push(l);
    return l;
  }

  /** The encoded function: locals declared as runs of one type, then `code`, then `end`. */
  encode(code: Stmt[]): WasmFunction {
    const runs: Array<[number, ValueType]> = [];
    for (const l of this.declared.slice(this.paramCount)) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    const out: Emitter = { bytes: [], labels: [] };
    for (const stmt of code) stmt.emit(out);
    return {
      name: this.name,
      params: this.paramCount,
      body: [...vec(runs.map(([n, type]) => [...leb(n), TYPE_CODE[type]])), ...out.bytes, 0x0b],
      localNames: this.declared.map((l) => l.name),
    };
  }
}

/** A function named `name` whose parameters, locals and code `define` declares and returns. */
export function wasmFunction(name: string, define: (f: FunctionBuilder) => Stmt[]): WasmFunction {
  const f = new FunctionBuilder(name);
  return f.encode(define(f));
}
