import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@lenna/core';

/**
 * Where a network's tensors live: trainable weights and non-trainable buffers (BatchNorm running
 * statistics), each under a stable dotted name. Insertion order is creation order, so a seed fixes them.
 */
export interface ParamStore {
  weights: Map<string, tf.Variable>;
  buffers: Map<string, tf.Variable>;
}

export function createParamStore(): ParamStore {
  return { weights: new Map(), buffers: new Map() };
}

/** Creates named tensors under a prefix, drawing initial values from one seeded stream. */
export class ParamBuilder {
  constructor(
    readonly store: ParamStore,
    readonly rng: Rng,
    readonly prefix = '',
  ) {}

  child(name: string | number): ParamBuilder {
    return new ParamBuilder(this.store, this.rng, this.name(String(name)));
  }

  name(local: string): string {
    return this.prefix ? `${this.prefix}.${local}` : local;
  }

  /** PyTorch's default conv/linear init: uniform in ±1/sqrt(fan_in), drawn in JS so every backend agrees. */
  uniform(local: string, shape: number[], fanIn: number): tf.Variable {
    const bound = 1 / Math.sqrt(fanIn);
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = (2 * this.rng.next() - 1) * bound;
    return this.add(local, tf.tensor(values, shape), true);
  }

  constant(local: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    return this.add(local, tf.fill(shape, value), trainable);
  }

  private add(local: string, init: tf.Tensor, trainable: boolean): tf.Variable {
    const full = this.name(local);
    const map = trainable ? this.store.weights : this.store.buffers;
    if (map.has(full)) throw new Error(`Parameter ${full} was created twice.`);
    const v = tf.variable(init, trainable);
    init.dispose();
    map.set(full, v);
    return v;
  }
}

export function disposeStore(store: ParamStore): void {
  for (const v of store.weights.values()) v.dispose();
  for (const v of store.buffers.values()) v.dispose();
  store.weights.clear();
  store.buffers.clear();
}

/** The trainable variables whose names start with `prefix` (e.g. `cells.3.`), in creation order. */
export function varsUnder(store: ParamStore, prefix: string): tf.Variable[] {
  return [...store.weights].filter(([name]) => name.startsWith(prefix)).map(([, v]) => v);
}
