/**
 * The binary container of LENNA's WebAssembly kernels: LEB128, sections, and a module that imports
 * its memory (so it can work inside tfjs-wasm's own heap) and exports functions whose bodies
 * `code.ts` builds. Every function takes only i32 arguments (byte offsets and counts) and returns
 * nothing.
 */

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

/** A length-prefixed vector of already-encoded items. */
export const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];

const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const utf8Name = (s: string): number[] => {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...leb(bytes.length), ...bytes];
};

const I32 = 0x7f;

/** A function as `code.ts`'s `wasmFunction` encodes it. */
export interface WasmFunction {
  name: string;
  /** How many i32 parameters it takes. */
  params: number;
  /** Its locals declaration and code, ending with the `end` opcode (0x0b). */
  body: number[];
  /** The names of its parameters, then of its locals, in index order. */
  localNames: string[];
}

/**
 * The `name` custom section (function and local names), which disassemblers and debuggers show
 * instead of $f0, $p3, $l17; engines do not read it to compile.
 */
function nameSection(functions: WasmFunction[]): number[] {
  const subsection = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const names = (list: string[]) => vec(list.map((name, i) => [...leb(i), ...utf8Name(name)]));
  return section(0, [
    ...utf8Name('name'),
    ...subsection(1, names(functions.map((f) => f.name))),
    ...subsection(2, vec(functions.map((f, i) => [...leb(i), ...names(f.localNames)]))),
  ]);
}

/**
 * The bytes of a module that imports `env.memory` and exports `functions` under their names; with
 * `names`, a name section too (for reading the module with a disassembler; the kernels load it without).
 */
export function assembleModule(functions: WasmFunction[], { names = false } = {}): Uint8Array {
  const arities = [...new Set(functions.map((f) => f.params))];
  const typeOf = (f: WasmFunction): number => arities.indexOf(f.params);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(arities.map((n) => [0x60, ...vec(Array.from({ length: n }, () => [I32])), 0]))),
    ...section(2, vec([[...utf8Name('env'), ...utf8Name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(functions.map((f) => leb(typeOf(f))))),
    ...section(7, vec(functions.map((f, i) => [...utf8Name(f.name), 0x00, ...leb(i)]))),
    ...section(10, vec(functions.map((f) => [...leb(f.body.length), ...f.body]))),
    ...(names ? nameSection(functions) : []),
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
  validate(bytes: Uint8Array): boolean;
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
