/**
 * Tiny WebAssembly modules assembled from opcodes (no toolchain needed), for the few loops no tfjs
 * kernel expresses cheaply. Every function takes only i32 arguments (byte offsets and counts) and
 * returns nothing; the module imports its memory, so it can work inside tfjs-wasm's own heap.
 */

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128, WebAssembly's integer encoding. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, for i32.const immediates. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/**
 * The instructions LENNA's loops are written in, each as bytes to spread into a function body (local
 * indices and memory offsets LEB-encoded; memory accesses claim no alignment).
 */
export const op = {
  get: (local: number) => [0x20, ...leb(local)],
  set: (local: number) => [0x21, ...leb(local)],
  tee: (local: number) => [0x22, ...leb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  i32Add: [0x6a], i32Sub: [0x6b], i32Mul: [0x6c], i32GeU: [0x4f], i32Shl: [0x74], i32ShrU: [0x76],
  block: [0x02, 0x40], loop: [0x03, 0x40], end: [0x0b],
  br: (depth: number) => [0x0c, ...leb(depth)],
  brIf: (depth: number) => [0x0d, ...leb(depth)],
  v128Load: (offset = 0) => [0xfd, 0x00, 0x00, ...leb(offset)],
  v128Store: (offset = 0) => [0xfd, 0x0b, 0x00, ...leb(offset)],
  load32Splat: (offset = 0) => [0xfd, 0x09, 0x00, ...leb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Eq: [0xfd, 0x41], f32x4Gt: [0xfd, 0x44],
  v128And: [0xfd, 0x4e], v128AndNot: [0xfd, 0x4f], v128Or: [0xfd, 0x50],
  f32x4Add: [0xfd, 0xe4, 0x01], f32x4Sub: [0xfd, 0xe5, 0x01], f32x4Mul: [0xfd, 0xe6, 0x01],
};

/** `local += step` (both i32 locals). */
export const addTo = (local: number, step: number): number[] => [...op.get(local), ...op.get(step), ...op.i32Add, ...op.set(local)];

/** `do { body } while (--counter != 0)`: the count must not start at zero. */
export const countDown = (counter: number, body: number[]): number[] => [
  ...op.loop, ...body, ...op.get(counter), ...op.i32(1), ...op.i32Sub, ...op.tee(counter), ...op.brIf(0), ...op.end,
];

/** A length-prefixed vector of already-encoded items. */
export const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];

const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const utf8Name = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

export interface WasmFunction {
  name: string;
  /** How many i32 parameters it takes. */
  params: number;
  /** Its locals declaration and code, ending with the `end` opcode (0x0b). */
  body: number[];
}

/** The bytes of a module that imports `env.memory` and exports `functions` under their names. */
export function assembleModule(functions: WasmFunction[]): Uint8Array {
  const arities = [...new Set(functions.map((f) => f.params))];
  const typeOf = (f: WasmFunction): number => arities.indexOf(f.params);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(arities.map((n) => [0x60, ...vec(Array.from({ length: n }, () => [I32])), 0]))),
    ...section(2, vec([[...utf8Name('env'), ...utf8Name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(functions.map((f) => leb(typeOf(f))))),
    ...section(7, vec(functions.map((f, i) => [...utf8Name(f.name), 0x00, ...leb(i)]))),
    ...section(10, vec(functions.map((f) => [...leb(f.body.length), ...f.body]))),
  ]);
}

/** The slice of the WebAssembly API used here (the Node typings in use do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * A module's exports bound to a memory: compiled once, instantiated once per memory (tfjs-wasm's
 * heap, or a private one), on first use.
 */
export function memoryBound<T>(bytes: Uint8Array): (memory: Pick<WasmMemory, 'buffer'>) => T {
  let compiled: object | undefined;
  const instances = new WeakMap<object, T>();
  return (memory) => {
    let bound = instances.get(memory);
    if (!bound) {
      compiled ??= new wasmApi.Module(bytes);
      bound = new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as T;
      instances.set(memory, bound);
    }
    return bound;
  };
}
