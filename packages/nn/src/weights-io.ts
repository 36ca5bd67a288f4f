import * as tf from '@tensorflow/tfjs';
import type { TensorData } from '@lenna/core';
import { UserError } from './errors.js';
import type { ParamStore } from './params.js';

/** Anything with named tensors: a search network also has α. */
export interface HasState {
  store: ParamStore;
  alphas?: { normal: tf.Variable; reduce: tf.Variable };
}

export const ALPHA_NAMES = { normal: 'alphas_normal', reduce: 'alphas_reduce' } as const;

function toTensorData(v: tf.Variable): TensorData {
  return { dtype: 'F32', shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
}

function namedVariables(net: HasState, opts: { weights: boolean; alphas: boolean }): Map<string, tf.Variable> {
  const all = new Map<string, tf.Variable>();
  if (opts.weights) {
    for (const [k, v] of net.store.weights) all.set(k, v);
    for (const [k, v] of net.store.buffers) all.set(k, v);
  }
  if (opts.alphas && net.alphas) {
    all.set(ALPHA_NAMES.normal, net.alphas.normal);
    all.set(ALPHA_NAMES.reduce, net.alphas.reduce);
  }
  return all;
}

/**
 * The network's tensors under their stable names (weights, BatchNorm running statistics and, for a
 * search network, `alphas_normal` / `alphas_reduce`), ready for core's safetensors writer.
 */
export function saveState(net: HasState, opts: { weights?: boolean; alphas?: boolean } = {}): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, v] of namedVariables(net, { weights: opts.weights ?? true, alphas: opts.alphas ?? true })) out[name] = toTensorData(v);
  return out;
}

/** Just α, for the darts-search `alphas` output. */
export function saveAlphas(net: HasState): Record<string, TensorData> {
  return saveState(net, { weights: false });
}

function toFloat32(t: TensorData): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data as ArrayLike<number>);
}

/**
 * Assigns saved tensors to the network. Every tensor the selection expects must be present with
 * its shape; with `strict` (default) extra names are errors too. `where` names the file in errors.
 */
export function loadState(
  net: HasState,
  state: Record<string, TensorData>,
  opts: { weights?: boolean; alphas?: boolean; strict?: boolean; where?: string } = {},
): void {
  const where = opts.where ?? 'the saved state';
  const expected = namedVariables(net, { weights: opts.weights ?? true, alphas: opts.alphas ?? true });
  for (const [name, v] of expected) {
    const t = state[name];
    if (!t) throw new UserError(`${where} has no tensor "${name}"; it was saved from a different network or op set.`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new UserError(`${where}: tensor "${name}" has shape [${t.shape}], but this network needs [${v.shape}].`);
    }
  }
  if (opts.strict ?? true) {
    const extra = Object.keys(state).filter((k) => !expected.has(k));
    if (extra.length > 0) throw new UserError(`${where} has tensors this network lacks (${extra.slice(0, 3).join(', ')}); it was saved from a different network.`);
  }
  for (const [name, v] of expected) {
    tf.tidy(() => v.assign(tf.tensor(toFloat32(state[name]), v.shape)));
  }
}
