import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, writeFileAtomic, type TensorData } from '@lenna/core';
import type { BatcherState } from '@lenna/data';
import type { HistoryRow } from './history.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Everything a search needs to go on after its last finished epoch, besides the tensors. */
export interface CheckpointState {
  format: 'lenna-darts-search-checkpoint';
  /** Which run this is (a hash of the params), so a folder reused by another configuration is ignored. */
  runKey: string;
  /** Finished epochs. */
  epoch: number;
  weightsBatcher: BatcherState;
  archBatcher: BatcherState;
  history: HistoryRow[];
  /** L_ref in ms (null without a latency model). */
  reference: number | null;
}

export interface Checkpoint {
  state: CheckpointState;
  /** `net.<name>` (weights, BatchNorm statistics, α), `opt.weights.<slot>`, `opt.alphas.<slot>`. */
  tensors: Record<string, TensorData>;
}

const STATE_KEY = 'lenna.state';

/** Writes the checkpoint so a reader sees the old file or the new one, never a torn one. */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const bytes = encodeSafetensors(checkpoint.tensors, { [STATE_KEY]: JSON.stringify(checkpoint.state) });
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), bytes);
}

/** The checkpoint of this run, or undefined when there is none (or it belongs to another run). */
export async function readCheckpoint(dir: string, runKey: string): Promise<Checkpoint | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, CHECKPOINT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const { tensors, metadata } = decodeSafetensors(bytes, join(dir, CHECKPOINT_FILE));
  const state = JSON.parse(metadata[STATE_KEY] ?? 'null') as CheckpointState | null;
  if (!state || state.format !== 'lenna-darts-search-checkpoint' || state.runKey !== runKey) return undefined;
  return { state, tensors };
}

/** Tensors under `prefix.` with the prefix removed. */
export function withoutPrefix(tensors: Record<string, TensorData>, prefix: string): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(`${prefix}.`)) out[name.slice(prefix.length + 1)] = t;
  return out;
}

export function withPrefix(tensors: Record<string, TensorData>, prefix: string): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [`${prefix}.${name}`, t]));
}
