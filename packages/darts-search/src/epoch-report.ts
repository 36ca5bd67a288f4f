import * as tf from '@tensorflow/tfjs';
import { createBatcher } from '@lenna/data';
import { countCorrect, crossEntropy, genotypeToText, type Genotype, type SearchNetwork } from '@lenna/nn';
import type { SearchData } from './data.js';
import { genotypeProbs } from './genotype-probs.js';
import { meanAlphaEntropy, type HistoryRow } from './history.js';
import type { LatencyTerm } from './latency.js';

/** What an epoch's report reads: the network, its α half, the latency term and how a genotype is derived. */
export interface ReportSource {
  net: SearchNetwork;
  data: SearchData;
  batchSize: number;
  latency?: LatencyTerm;
  /** darts-search's `maxSkips`: the derivation of the genotype the stage writes. */
  maxSkips: number | null;
}

/** E[lat] in ms at the current α, or null without a latency model. */
export function expectedMs(loop: Pick<ReportSource, 'latency' | 'net'>): number | null {
  if (!loop.latency) return null;
  return tf.tidy(() => loop.latency!.expected(loop.net.alphas.normal, loop.net.alphas.reduce).dataSync()[0]);
}

/**
 * The latency model's latency of a discrete cell pair (kept edges one-hot on their op, `none`
 * elsewhere), over the same cells as E[lat]: what the derived genotype costs, where E[lat] is the
 * soft mixture of all edges and ops. Null without a latency model.
 */
export function genotypeMs(latency: LatencyTerm | undefined, genotype: Genotype, ops: readonly string[]): number | null {
  if (!latency) return null;
  const probs = genotypeProbs(genotype, ops, genotype.normal.length / 2);
  return latency.expectedForProbs(probs.normal, probs.reduce);
}

/** Loss and accuracy on the whole architecture half, BatchNorm in evaluation mode (as DARTS's `infer`). */
function validate(loop: ReportSource): { loss: number; acc: number } {
  const batches = createBatcher(loop.data.arch, { batchSize: loop.batchSize, seed: 0, shuffle: false });
  let [lossSum, correct, seen] = [0, 0, 0];
  for (const b of batches.epochBatches()) {
    const [loss, hits] = tf.tidy(() => {
      const logits = loop.net.forward(b.x, { training: false });
      return [crossEntropy(logits, b.y).dataSync()[0], countCorrect(logits, b.y).dataSync()[0]];
    });
    lossSum += loss * b.y.shape[0];
    correct += hits;
    seen += b.y.shape[0];
    tf.dispose([b.x, b.y]);
  }
  return { loss: lossSum / seen, acc: correct / seen };
}

export function epochRow(loop: ReportSource, epoch: number, lr: number, train: { loss: number; acc: number }, seconds: number): HistoryRow {
  const val = validate(loop);
  const genotype = loop.net.genotype();
  const derived = loop.maxSkips === null ? genotype : loop.net.genotype({ maxSkips: loop.maxSkips });
  const alphas = [loop.net.alphas.normal.arraySync() as number[][], loop.net.alphas.reduce.arraySync() as number[][]];
  return {
    epoch,
    train_loss: train.loss,
    train_acc: train.acc,
    val_loss: val.loss,
    val_acc: val.acc,
    expected_latency_ms: expectedMs(loop),
    genotype_latency_ms: genotypeMs(loop.latency, derived, loop.net.config.ops),
    alpha_entropy: meanAlphaEntropy(...alphas),
    genotype: genotypeToText(genotype),
    n_skip: genotype.normal.filter(([op]) => op === 'skip_connect').length,
    seconds,
    lr,
  };
}

export function describeRow(row: HistoryRow, epochs: number, maxSkips: number | null): string {
  const limit = maxSkips === null ? 'no skip limit' : `maxSkips ${maxSkips}`;
  const latency = row.expected_latency_ms === null ? '' : ` E[lat] ${row.expected_latency_ms.toFixed(3)} ms (derived cells, ${limit}: ${row.genotype_latency_ms?.toFixed(3)} ms)`;
  return (
    `epoch ${row.epoch + 1}/${epochs}: train loss ${row.train_loss.toFixed(4)} acc ${(100 * row.train_acc).toFixed(1)}%, ` +
    `val loss ${row.val_loss.toFixed(4)} acc ${(100 * row.val_acc).toFixed(1)}%,${latency} entropy ${row.alpha_entropy.toFixed(4)}, ` +
    `lr ${row.lr.toExponential(3)}, ${row.seconds.toFixed(1)} s; argmax genotype (no skip limit, ${row.n_skip} skips): ${row.genotype}`
  );
}
