import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, writeFileAtomic, type TensorData } from '@lenna/core';
import type { Optimizer } from './optim.js';
import { loadState, saveState, type HasState } from './weights-io.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Which training a checkpoint belongs to: one written by another stage or configuration is ignored. */
export interface CheckpointId {
  /** The writer, e.g. 'lenna-darts-search-checkpoint'. */
  format: string;
  /** A hash of everything that shapes the run (params, inputs). */
  runKey: string;
}

/** What is trained: the network's tensors (weights, BatchNorm statistics, α) and each optimiser's state. */
export interface TrainingParts {
  net: HasState;
  optimizers: Record<string, Optimizer>;
}

/** The run's JSON state after `epoch` finished epochs (batchers, random streams, history, ...). */
export interface CheckpointState<S> {
  epoch: number;
  state: S;
}

const STATE_KEY = 'lenna.state';

interface Envelope<S> extends CheckpointId, CheckpointState<S> {}

/**
 * Writes `<dir>/checkpoint.safetensors` so a reader sees the old file or the new one, never a torn
 * one: tensors `net.<name>` and `opt.<optimiser>.<slot>`, the JSON state in the metadata.
 */
export async function saveCheckpoint<S>(dir: string, id: CheckpointId, parts: TrainingParts, at: CheckpointState<S>): Promise<void> {
  const tensors: Record<string, TensorData> = withPrefix(saveState(parts.net), 'net');
  for (const [name, opt] of Object.entries(parts.optimizers)) Object.assign(tensors, withPrefix(opt.state(), `opt.${name}`));
  const envelope: Envelope<S> = { ...id, ...at };
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), encodeSafetensors(tensors, { [STATE_KEY]: JSON.stringify(envelope) }));
}

/**
 * Loads this run's checkpoint into the network and optimisers and returns its state, or undefined
 * when `dir` holds none (or one of another format or run key).
 */
export async function loadCheckpoint<S>(dir: string, id: CheckpointId, parts: TrainingParts): Promise<CheckpointState<S> | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const envelope = JSON.parse(metadata[STATE_KEY] ?? 'null') as Envelope<S> | null;
  if (!envelope || envelope.format !== id.format || envelope.runKey !== id.runKey) return undefined;
  loadState(parts.net, withoutPrefix(tensors, 'net'), { where: path });
  for (const [name, opt] of Object.entries(parts.optimizers)) opt.loadState(withoutPrefix(tensors, `opt.${name}`));
  return { epoch: envelope.epoch, state: envelope.state };
}

function withoutPrefix(tensors: Record<string, TensorData>, prefix: string): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(`${prefix}.`)) out[name.slice(prefix.length + 1)] = t;
  return out;
}

function withPrefix(tensors: Record<string, TensorData>, prefix: string): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [`${prefix}.${name}`, t]));
}
