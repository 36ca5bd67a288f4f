import * as tf from '@tensorflow/tfjs';
import { UserError } from '@lenna/core';
import { countCorrect, cosineLr, createEvalStep, dropPathRamp, loadCheckpoint, NonFiniteError, saveCheckpoint, type EvalNetwork, type EvalStep, type TrainingParts } from '@lenna/nn';
import { createBatcher, type AugmentOptions, type Batcher, type BatcherState, type ImageSet } from '@lenna/data';

/** One row of history.arrow. */
export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_acc: number;
  lr: number;
  drop_path_prob: number;
  seconds: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  lrMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  auxiliaryWeight: number;
  dropPath: number;
  seed: number;
  augment?: AugmentOptions;
}

export interface TrainHooks {
  /** After every step: steps done so far over all epochs. */
  onStep?(done: number, total: number, epoch: number): void;
  /** After every epoch, once its checkpoint is written. */
  onEpoch?(record: EpochRecord): void;
  log?(message: string): void;
  signal?: AbortSignal;
  /** Checkpoint after every epoch into `dir` and resume from there; `runKey` names the run (a checkpoint of another is ignored). */
  checkpoint?: { dir: string; runKey: string };
}

export class TrainingInterrupted extends Error {
  constructor(epoch: number, step: number) {
    super(`retrain-eval was interrupted at epoch ${epoch + 1}, step ${step + 1}; the next run resumes from the last finished epoch.`);
    this.name = 'TrainingInterrupted';
  }
}

/** What a checkpoint holds besides the tensors: the batch stream, the drop-path masks' stream and the history. */
interface RetrainState {
  batcher: BatcherState;
  dropPathRng: number[];
  history: EpochRecord[];
}

const CHECKPOINT_FORMAT = 'lenna-retrain-eval-checkpoint';

interface Training {
  net: EvalNetwork;
  step: EvalStep;
  batcher: Batcher;
  history: EpochRecord[];
}

const partsOf = (t: Training): TrainingParts => ({ net: t.net, optimizers: { weights: t.step.optimizer } });

async function restore(t: Training, o: TrainOptions, hooks: TrainHooks): Promise<number> {
  if (!hooks.checkpoint) return 0;
  const checkpoint = await loadCheckpoint<RetrainState>(hooks.checkpoint.dir, { format: CHECKPOINT_FORMAT, runKey: hooks.checkpoint.runKey }, partsOf(t));
  if (!checkpoint) return 0;
  t.batcher.setState(checkpoint.state.batcher);
  t.net.dropPathRng.setState(checkpoint.state.dropPathRng);
  t.history = checkpoint.state.history;
  hooks.log?.(`resuming retrain-eval after epoch ${checkpoint.epoch} of ${o.epochs}`);
  return checkpoint.epoch;
}

async function save(t: Training, hooks: TrainHooks, finished: number): Promise<void> {
  if (!hooks.checkpoint) return;
  const state: RetrainState = { batcher: t.batcher.getState(), dropPathRng: t.net.dropPathRng.getState(), history: t.history };
  await saveCheckpoint(hooks.checkpoint.dir, { format: CHECKPOINT_FORMAT, runKey: hooks.checkpoint.runKey }, partsOf(t), { epoch: finished, state });
}

/** A NaN or Inf from nn's step (its update was not applied), as the stage's one-sentence failure. */
function nonFinite(error: NonFiniteError, epoch: number, step: number): UserError {
  return new UserError(
    `retrain-eval stopped at epoch ${epoch + 1}, step ${step + 1}: ${error.message}; lower lr or check the data (the checkpoint of the last finished epoch is kept, nothing is written).`,
  );
}

/** One epoch of nn's evaluation step over the training batches: mean loss and accuracy. */
function trainEpoch(t: Training, o: TrainOptions, hooks: TrainHooks, epoch: number, lr: number, dropPathProb: number): { loss: number; acc: number } {
  const sums = { loss: 0, correct: 0, size: 0 };
  let step = 0;
  for (const batch of t.batcher.epochBatches()) {
    try {
      if (hooks.signal?.aborted) throw new TrainingInterrupted(epoch, step);
      const r = t.step.step(batch, { lr, dropPathProb });
      sums.loss += r.loss * batch.y.shape[0];
      sums.correct += r.correct;
      sums.size += batch.y.shape[0];
    } catch (error) {
      throw error instanceof NonFiniteError ? nonFinite(error, epoch, step) : error;
    } finally {
      tf.dispose([batch.x, batch.y]);
    }
    step++;
    hooks.onStep?.(epoch * t.batcher.batchesPerEpoch + step, t.batcher.batchesPerEpoch * o.epochs, epoch);
  }
  return { loss: sums.loss / sums.size, acc: sums.correct / sums.size };
}

/**
 * DARTS's train.py with nn's evaluation step: per epoch the cosine learning rate and the drop-path
 * ramp are set, then SGD with momentum and weight decay on CE (+ auxiliaryWeight · CE of the
 * auxiliary head), gradients clipped to a global norm; val accuracy after every epoch. With
 * `hooks.checkpoint`, checkpoints after every epoch and resumes from the last one.
 */
export async function trainEvalNetwork(net: EvalNetwork, train: ImageSet, val: ImageSet, o: TrainOptions, hooks: TrainHooks = {}): Promise<EpochRecord[]> {
  const t: Training = {
    net,
    step: createEvalStep(net, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, gradClip: o.gradClip, auxiliaryWeight: o.auxiliaryWeight }),
    batcher: createBatcher(train, { batchSize: o.batchSize, seed: o.seed, augment: o.augment }),
    history: [],
  };
  try {
    for (let epoch = await restore(t, o, hooks); epoch < o.epochs; epoch++) {
      const start = performance.now();
      const lr = cosineLr(o.lr, o.lrMin, epoch, o.epochs);
      const dropPathProb = dropPathRamp(o.dropPath, epoch, o.epochs);
      const trained = trainEpoch(t, o, hooks, epoch, lr, dropPathProb);
      const record: EpochRecord = {
        epoch,
        train_loss: trained.loss,
        train_acc: trained.acc,
        val_acc: evaluateAccuracy(net, val, o.batchSize),
        lr,
        drop_path_prob: dropPathProb,
        seconds: (performance.now() - start) / 1000,
      };
      t.history.push(record);
      await save(t, hooks, epoch + 1);
      hooks.onEpoch?.(record);
    }
  } finally {
    t.step.dispose();
  }
  return t.history;
}

/** Top-1 accuracy of the network in inference mode (BatchNorm on running statistics) over a whole set. */
export function evaluateAccuracy(net: EvalNetwork, set: ImageSet, batchSize: number): number {
  const batcher = createBatcher(set, { batchSize, seed: 0, shuffle: false });
  let correct = 0;
  for (const batch of batcher.epochBatches()) {
    correct += tf.tidy(() => countCorrect(net.forward(batch.x, { training: false }).logits, batch.y).dataSync()[0]);
    tf.dispose([batch.x, batch.y]);
  }
  return correct / set.count;
}
