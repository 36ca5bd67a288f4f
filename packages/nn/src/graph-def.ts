import type { KernelTrace, TracedConst, TracedKernel, TracedValue } from './graph-trace.js';

/** A GraphDef attribute in the JSON form tfjs-converter reads (protobuf's JSON mapping: bytes as base64, int64 as strings). */
export type GraphAttr =
  | { type: 'DT_FLOAT' | 'DT_INT32' }
  | { s: string }
  | { i: string }
  | { b: boolean }
  | { list: { i: string[] } }
  | { shape: { dim: { size: string }[] } };

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphAttr>;
}

/** A Const node's value, for the weight shard. */
export interface GraphWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: Float32Array | Int32Array;
}

export interface GraphDefOptions {
  /** The Placeholder's name and shape (-1 for the batch). */
  inputName: string;
  inputShape: number[];
  /** An Identity node of this name holds the result. */
  outputName: string;
}

const str = (s: string): GraphAttr => ({ s: btoa(s) });
const ints = (xs: readonly number[]): GraphAttr => ({ list: { i: xs.map(String) } });
const FLOAT: GraphAttr = { type: 'DT_FLOAT' };

/**
 * The GraphDef of a traced function, from two traces of it at different batch sizes: the kernels and
 * constants must agree except where a size follows the batch (a Reshape's shape, a Slice's size),
 * which becomes -1. What no GraphDef op of tfjs-converter can express is an error naming the kernel.
 */
export function graphDefOf(traces: [KernelTrace, KernelTrace], opts: GraphDefOptions): { nodes: GraphNode[]; weights: GraphWeight[] } {
  const [a, b] = traces;
  if (a.kernels.length !== b.kernels.length) throw new Error(`The traced function ran ${a.kernels.length} kernels at one batch size and ${b.kernels.length} at another; it cannot be written as one graph.`);
  const builder = new GraphBuilder(a, b);
  builder.nodes.push({ name: opts.inputName, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: opts.inputShape.map((d) => ({ size: String(d) })) } } } });
  builder.inputName = opts.inputName;
  a.kernels.forEach((k, i) => builder.kernel(i, k, b.kernels[i]));
  builder.nodes.push({ name: opts.outputName, op: 'Identity', input: [builder.ref(a.output, b.output)], attr: { T: FLOAT } });
  return prune(builder.nodes, builder.weights, opts.outputName);
}

class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly weights: GraphWeight[] = [];
  inputName = '';
  private readonly constNames = new Map<number, string>();
  private readonly usedNames = new Set<string>();

  constructor(
    private readonly a: KernelTrace,
    private readonly b: KernelTrace,
  ) {}

  /** The input reference (`name` or `name:k`) of a traced value, adding its Const node on first use. */
  ref(va: TracedValue, vb: TracedValue): string {
    if (va.kind !== vb.kind) throw new Error('The two traces wire a kernel differently; the function is not the same graph at both batch sizes.');
    if (va.kind === 'input') return this.inputName;
    if (va.kind === 'kernel') return va.output === 0 ? kernelName(va.kernel) : `${kernelName(va.kernel)}:${va.output}`;
    const known = this.constNames.get(va.id);
    if (known) return known;
    const ca = this.a.consts.get(va.id)!;
    const cb = this.b.consts.get((vb as { id: number }).id)!;
    if (!sameConst(ca, cb)) throw new Error(`The constant ${ca.name ?? `of shape [${ca.shape}]`} differs between batch sizes; the network computes something from its batch size that a graph cannot.`);
    const name = this.constNode(ca.name ?? `const_${this.constNames.size}`, ca);
    this.constNames.set(va.id, name);
    return name;
  }

  constNode(wanted: string, c: Pick<TracedConst, 'dtype' | 'shape' | 'values'>): string {
    const base = wanted.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = base;
    for (let k = 1; this.usedNames.has(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    if (c.dtype !== 'float32' && c.dtype !== 'int32') throw new Error(`A ${c.dtype} constant cannot go into the weight shard; only float32 and int32 can.`);
    const values = c.dtype === 'float32' ? Float32Array.from(c.values as ArrayLike<number>) : Int32Array.from(c.values as ArrayLike<number>);
    this.weights.push({ name, dtype: c.dtype, shape: c.shape, values });
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type: c.dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' } } });
    return name;
  }

  private intConst(owner: string, role: string, values: readonly number[], shape = [values.length]): string {
    return this.constNode(`${owner}/${role}`, { dtype: 'int32', shape, values: Int32Array.from(values) });
  }

  kernel(i: number, ka: TracedKernel, kb: TracedKernel): void {
    if (ka.kernel !== kb.kernel || ka.inputs.length !== kb.inputs.length) throw new Error(`Kernel ${i} is ${ka.kernel} at one batch size and ${kb.kernel} at another.`);
    const name = kernelName(i);
    const inputs = ka.inputs.map((v, j) => this.ref(v, kb.inputs[j]));
    const attrs = ka.attrs;
    const node = (op: string, input: string[], attr: Record<string, GraphAttr> = {}) => this.nodes.push({ name, op, input, attr });
    const sameAttrs = (...keys: string[]) => {
      for (const key of keys) {
        if (JSON.stringify(ka.attrs[key]) !== JSON.stringify(kb.attrs[key])) throw new Error(`${ka.kernel} (kernel ${i}) has ${key} ${JSON.stringify(ka.attrs[key])} at one batch size and ${JSON.stringify(kb.attrs[key])} at another; a graph cannot hold that.`);
      }
    };
    switch (ka.kernel) {
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        sameAttrs('strides', 'pad', 'dilations', 'dataFormat', 'dimRoundingMode');
        if (attrs.dimRoundingMode != null) throw unsupported(ka, 'dimRoundingMode');
        if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw unsupported(ka, `data format ${String(attrs.dataFormat)}`);
        return void node(ka.kernel, inputs, { T: FLOAT, data_format: str('NHWC'), strides: ints(quad(attrs.strides)), dilations: ints(quad(attrs.dilations ?? 1)), ...padding(attrs.pad) });
      }
      case 'MaxPool':
      case 'AvgPool': {
        sameAttrs('filterSize', 'strides', 'pad', 'dimRoundingMode');
        if (attrs.pad !== 'same' && attrs.pad !== 'valid') throw unsupported(ka, `padding ${JSON.stringify(attrs.pad)} (trace it inside compute's inGraphForms)`);
        if (attrs.dimRoundingMode != null) throw unsupported(ka, 'dimRoundingMode');
        return void node(ka.kernel, inputs, { T: FLOAT, data_format: str('NHWC'), ksize: ints(quad(attrs.filterSize)), strides: ints(quad(attrs.strides)), padding: str(String(attrs.pad).toUpperCase()) });
      }
      case 'Relu':
      case 'Identity':
      case 'Rsqrt':
      case 'Neg':
      case 'Sqrt':
      case 'Square':
        return void node(ka.kernel, inputs, { T: FLOAT });
      case 'Add':
      case 'Sub':
      case 'Multiply':
      case 'RealDiv':
        return void node({ Add: 'AddV2', Sub: 'Sub', Multiply: 'Mul', RealDiv: 'RealDiv' }[ka.kernel], inputs, { T: FLOAT });
      case 'Concat': {
        sameAttrs('axis');
        const rank = ka.outputShapes[0].length;
        const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
        return void node('ConcatV2', [...inputs, this.intConst(name, 'axis', [axis], [])], { T: FLOAT, N: { i: String(inputs.length) } });
      }
      case 'PadV2': {
        sameAttrs('paddings', 'constantValue');
        const paddings = attrs.paddings as number[][];
        const fill = this.constNode(`${name}/constant_values`, { dtype: 'float32', shape: [], values: Float32Array.of(Number(attrs.constantValue ?? 0)) });
        return void node('PadV2', [...inputs, this.intConst(name, 'paddings', paddings.flat(), [paddings.length, 2]), fill], { T: FLOAT });
      }
      case 'Mean':
      case 'Sum':
      case 'Max': {
        sameAttrs('axis', 'keepDims');
        const axes = [attrs.axis as number | number[]].flat();
        return void node(ka.kernel, [...inputs, this.intConst(name, 'axis', axes)], { T: FLOAT, keep_dims: { b: Boolean(attrs.keepDims) }, Tidx: { type: 'DT_INT32' } });
      }
      case 'BatchMatMul': {
        sameAttrs('transposeA', 'transposeB');
        const rank2 = ka.outputShapes[0].length === 2;
        const [ta, tb] = rank2 ? ['transpose_a', 'transpose_b'] : ['adj_x', 'adj_y'];
        const flags: Record<string, GraphAttr> = { [ta]: { b: Boolean(attrs.transposeA) }, [tb]: { b: Boolean(attrs.transposeB) } };
        return void node(rank2 ? 'MatMul' : 'BatchMatMulV2', inputs, { T: FLOAT, ...flags });
      }
      case 'Reshape': {
        const shape = batchFree(ka, kb, attrs.shape as number[], kb.attrs.shape as number[], 'shape');
        if (shape.filter((d) => d === -1).length > 1) throw unsupported(ka, `a shape with two sizes that follow the batch (${JSON.stringify(attrs.shape)})`);
        return void node('Reshape', [...inputs, this.intConst(name, 'shape', shape)], { T: FLOAT, Tshape: { type: 'DT_INT32' } });
      }
      case 'Slice': {
        sameAttrs('begin');
        const begin = attrs.begin as number[];
        const size = batchFree(ka, kb, attrs.size as number[], kb.attrs.size as number[], 'size');
        if (size.some((d, axis) => d === -1 && begin[axis] !== 0)) throw unsupported(ka, 'a slice along the batch that does not start at 0');
        return void node('Slice', [...inputs, this.intConst(name, 'begin', begin), this.intConst(name, 'size', size)], { T: FLOAT, Index: { type: 'DT_INT32' } });
      }
      case 'Transpose':
        sameAttrs('perm');
        return void node('Transpose', [...inputs, this.intConst(name, 'perm', attrs.perm as number[])], { T: FLOAT, Tperm: { type: 'DT_INT32' } });
      case 'Cast':
        sameAttrs('dtype');
        if (attrs.dtype !== 'float32' && attrs.dtype !== 'int32') throw unsupported(ka, `dtype ${String(attrs.dtype)}`);
        return void node('Cast', inputs, { DstT: { type: attrs.dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' } });
      default:
        throw new Error(`The network runs the tfjs kernel ${ka.kernel}, which LENNA's graph export does not write yet; add it to nn's graph-def.ts.`);
    }
  }
}

export function kernelName(i: number): string {
  return `k${i}`;
}

function unsupported(k: TracedKernel, what: string): Error {
  return new Error(`The graph export cannot write ${k.kernel} with ${what}.`);
}

/** [1, h, w, 1] from tfjs's number or [h, w]. */
function quad(v: unknown): number[] {
  const [h, w] = typeof v === 'number' ? [v, v] : (v as number[]);
  return [1, h, w, 1];
}

/** tfjs's pad attr ('same', 'valid', a number, or explicit [[t, b], ...] per dimension) as GraphDef attrs. */
function padding(pad: unknown): Record<string, GraphAttr> {
  if (pad === 'same' || pad === 'valid') return { padding: str(pad.toUpperCase()) };
  const explicit = typeof pad === 'number' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : (pad as number[][]);
  return { padding: str('EXPLICIT'), explicit_paddings: ints(explicit.flat()) };
}

/** A size list with -1 where the two traces differ (a size that follows the batch). */
function batchFree(ka: TracedKernel, kb: TracedKernel, a: number[], b: number[], what: string): number[] {
  if (a.length !== b.length) throw unsupported(ka, `a ${what} of rank ${a.length} at one batch size and ${b.length} at another (${kb.kernel})`);
  return a.map((d, i) => (d === b[i] ? d : -1));
}

function sameConst(a: TracedConst, b: TracedConst): boolean {
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && a.values.length === b.values.length && a.values.every((v, i) => Object.is(v, b.values[i]));
}

/** Only what the output depends on: tfjs-converter takes any node nobody reads for an output. */
function prune(nodes: GraphNode[], weights: GraphWeight[], output: string): { nodes: GraphNode[]; weights: GraphWeight[] } {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const live = new Set<string>();
  const visit = (name: string) => {
    const node = byName.get(name.split(':')[0]);
    if (!node || live.has(node.name)) return;
    live.add(node.name);
    node.input?.forEach(visit);
  };
  visit(output);
  return { nodes: nodes.filter((n) => live.has(n.name)), weights: weights.filter((w) => live.has(w.name)) };
}
