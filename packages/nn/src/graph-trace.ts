import * as tf from '@tensorflow/tfjs';

/** Where a traced kernel's input comes from. */
export type TracedValue =
  | { kind: 'input' }
  | { kind: 'kernel'; kernel: number; output: number }
  | { kind: 'const'; id: number };

/** A value known at trace time: a weight (named) or a tensor computed from weights and literals only. */
export interface TracedConst {
  name?: string;
  dtype: tf.DataType;
  shape: number[];
  values: tf.TypedArray;
}

/** One tfjs kernel call of the traced function whose inputs are not all known at trace time. */
export interface TracedKernel {
  kernel: string;
  /** In the order tfjs passed them (its kernels' named inputs; Concat's by position). */
  inputs: TracedValue[];
  attrs: Record<string, unknown>;
  outputShapes: number[][];
}

export interface KernelTrace {
  kernels: TracedKernel[];
  consts: Map<number, TracedConst>;
  output: TracedValue;
}

interface Engine {
  runKernel(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor | tf.Tensor[];
}

/**
 * Runs `fn(input)` once and records the tfjs kernels it calls (every tfjs op goes through the
 * engine's runKernel), so a network written as plain functions can be written out as a graph of the
 * very kernels it ran. Kernels whose inputs are all known without `input` (weights, literals, and
 * what is computed from them, such as BatchNorm's scale and shift) are folded into constants. Kernels
 * a kernel runs inside itself are its own business and not recorded.
 */
export function traceKernels(fn: (input: tf.Tensor) => tf.Tensor, input: tf.Tensor, names: ReadonlyMap<number, string>): KernelTrace {
  const engine = tf.engine() as unknown as Engine;
  const original = engine.runKernel;
  const kernels: TracedKernel[] = [];
  const consts = new Map<number, TracedConst>();
  const produced = new Map<number, TracedValue>();
  const valueOf = (t: tf.Tensor): TracedValue => {
    if (t.id === input.id) return { kind: 'input' };
    const made = produced.get(t.id);
    if (made) return made;
    if (!consts.has(t.id)) consts.set(t.id, { name: names.get(t.id), dtype: t.dtype, shape: t.shape, values: t.dataSync() as tf.TypedArray });
    return { kind: 'const', id: t.id };
  };
  let depth = 0;
  engine.runKernel = function (this: Engine, kernelName, inputs, attrs) {
    if (depth > 0) return original.call(this, kernelName, inputs, attrs);
    const traced = Object.values(inputs).map(valueOf);
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = original.call(this, kernelName, inputs, attrs);
    } finally {
      depth--;
    }
    const outputs = Array.isArray(out) ? out : [out];
    if (traced.every((v) => v.kind === 'const')) {
      for (const t of outputs) consts.set(t.id, { dtype: t.dtype, shape: t.shape, values: t.dataSync() as tf.TypedArray });
    } else {
      const kernel = kernels.length;
      kernels.push({ kernel: kernelName, inputs: traced, attrs: { ...attrs }, outputShapes: outputs.map((t) => t.shape) });
      outputs.forEach((t, output) => produced.set(t.id, { kind: 'kernel', kernel, output }));
    }
    return out;
  };
  try {
    const result = fn(input);
    const output = valueOf(result);
    result.dispose();
    return { kernels, consts, output };
  } finally {
    engine.runKernel = original;
  }
}
