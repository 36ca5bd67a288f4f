import { canonicalJson, sha256Hex, UserError, type StageContext } from '@lenna/core';
import { initBackend, type TimingClock } from '@lenna/compute';
import { describeTarget, openTarget, type TargetLabel } from '@lenna/measure-target';
import { countMacs, countParams, createEvalNetwork, DARTS_OPS, genotypeOpCounts, genotypeToText, saveState, type EvalNetwork, type Genotype } from '@lenna/nn';
import { shapeColumnValues, type ShapeColumnValues } from '@lenna/latency-model';
import { loadDataset, type AugmentOptions, type ImageSet } from '@lenna/data';
import { genotypeKind, readGenotypeInput } from './genotype-input.js';
import { checkModelKnowsCells, measureCells, measureNetwork, predictCells, summariseLatency } from './latency.js';
import { loadModelFor, resolveMeasureBatch, type LoadedModel } from './model-input.js';
import { genotypeChoice } from './one-hot.js';
import type { RetrainEvalParams } from './params.js';
import { historyTable, metricsTable, type RetrainMetrics } from './tables.js';
import { webModelMetadata, writeWebModel } from './web-model.js';
import { evaluateAccuracy, trainEvalNetwork } from './train.js';

export const METRICS_JSON = 'metrics.json';
export const METRICS_ARROW = 'metrics.arrow';
export const WEIGHTS_FILE = 'weights.safetensors';
export const HISTORY_FILE = 'history.arrow';

/** DARTS's CIFAR-10 training augmentation (crop 4, flip, cutout); other data sets train without any. */
export function augmentationFor(p: Pick<RetrainEvalParams, 'dataset' | 'cutout'>): AugmentOptions | undefined {
  if (p.dataset.name !== 'cifar10') {
    if (p.cutout) throw new UserError(`cutout is ${p.cutout}, but cutout applies to cifar10 only (dataset.name is "${p.dataset.name}"); leave cutout out.`);
    return undefined;
  }
  const cutout = p.cutout ?? 16;
  return cutout > 0 ? { crop: 4, flip: true, cutout } : { crop: 4, flip: true };
}

function inputSizeOf(set: ImageSet, name: string): number {
  if (set.height !== set.width) throw new UserError(`The ${name} images are ${set.height}×${set.width}; the evaluation network needs square images (set dataset.synthetic.hw, or use another data set).`);
  return set.height;
}

/** The stage's run(): read inputs, train, evaluate, time inside ctx.exclusive, write the three outputs. */
export async function runRetrainEval(ctx: StageContext<RetrainEvalParams>): Promise<void> {
  const genotype = await readGenotypeInput(ctx.inputs.genotype);
  const loaded = ctx.inputs.model ? await loadModelFor(ctx.inputs.model.dir, genotype) : null;
  try {
    await retrain(ctx, genotype, loaded);
  } finally {
    loaded?.model.dispose();
  }
}

async function retrain(ctx: StageContext<RetrainEvalParams>, genotype: Genotype, loaded: LoadedModel | null): Promise<void> {
  const p = ctx.params;
  const ops = loaded?.model.ops ?? [...DARTS_OPS];
  // Fail before training if the genotype cannot be written as one op per edge of this op set.
  genotypeChoice(genotype, 'normal', ops);
  genotypeChoice(genotype, 'reduce', ops);
  const batch = resolveMeasureBatch(p.measure.batch, loaded);
  const augment = augmentationFor(p);
  const backend = await initBackend({ quiet: true });
  const data = await loadDataset(p.dataset);
  ctx.log(`retrain-eval: backend ${backend.name}; ${genotypeToText(genotype)}; ${data.train.count} train, ${data.val.count} val, ${data.test.count} test images`);

  const net = createEvalNetwork({
    genotype,
    C: p.C,
    layers: p.layers,
    numClasses: data.train.numClasses,
    inputChannels: data.train.channels,
    inputSize: inputSizeOf(data.train, p.dataset.name),
    auxiliary: p.auxiliary,
    seed: p.seed,
  });
  try {
    // Before training: a model that never saw these cells would give numbers nobody should trust.
    if (loaded) checkModelKnowsCells(loaded.model, net.shapes, batch, p.allowExtrapolation);
    const result = await trainAndMeasure(ctx, net, genotype, data, loaded, ops, batch, augment);
    await writeOutputs(ctx, net, genotype, result);
    await writeWebModel(ctx, net, webModelMetadata(net, data.train, p.dataset));
  } finally {
    net.dispose();
  }
}

/** `clock`: what the latencies counted (measure.clock, `auto` resolved by the target). */
type TrainedResult = { metrics: RetrainMetrics; history: Awaited<ReturnType<typeof trainEvalNetwork>>; cells: CellReport[]; clock: TimingClock };

/** One cell of the network in metrics.json: its index, its shape under the data set's column names, its latencies. */
type CellReport = { index: number } & ShapeColumnValues & { measured_ms: number; predicted_ms: number | null };

async function trainAndMeasure(
  ctx: StageContext<RetrainEvalParams>,
  net: EvalNetwork,
  genotype: Genotype,
  data: { train: ImageSet; val: ImageSet; test: ImageSet },
  loaded: LoadedModel | null,
  ops: readonly string[],
  batch: number,
  augment: AugmentOptions | undefined,
): Promise<TrainedResult> {
  const p = ctx.params;
  const history = await trainEvalNetwork(net, data.train, data.val, { ...p, augment }, {
    signal: ctx.signal,
    log: ctx.log,
    // A checkpoint of other params or another genotype is ignored.
    checkpoint: { dir: ctx.scratchDir, runKey: sha256Hex(canonicalJson({ params: p, genotype })) },
    onStep: (done, total, epoch) => ctx.progress({ done, total, label: `epoch ${epoch + 1}/${p.epochs}` }),
    onEpoch: (r) => ctx.log(`epoch ${r.epoch + 1}/${p.epochs}: train loss ${r.train_loss.toFixed(4)} acc ${r.train_acc.toFixed(4)}, val acc ${r.val_acc.toFixed(4)}, lr ${r.lr.toPrecision(3)}, ${r.seconds.toFixed(1)} s`),
  });
  // Summed over the epochs, so a resumed run counts the epochs of the run it continues.
  const trainSeconds = history.reduce((sum, r) => sum + r.seconds, 0);
  const testAcc = evaluateAccuracy(net, data.test, p.batchSize);

  const shapes = net.shapes;
  const predicted = loaded ? predictCells(loaded.model, genotype, shapes, batch) : null;
  const timing = { warmup: p.measure.warmup, runs: p.measure.runs, quantile: p.measure.quantile };
  // The target's clock: measure.clock, `auto` resolved for its backend (as dataset-gen times its cells).
  const target = await openTarget({ ...p, clock: p.measure.clock }, ctx.log);
  let measured: { networkMs: number; cellsMs: number[] };
  try {
    ctx.log(`retrain-eval: timing on ${describeTarget(target.label)}`);
    // Only the timing holds the machine alone; training above runs beside other stages.
    measured = await ctx.exclusive(async () => ({
      networkMs: await measureNetwork(target.timer, net, batch, timing, p.seed),
      cellsMs: await measureCells(target.timer, genotype, shapes, ops, batch, timing, p.seed),
    }));
  } finally {
    await target.close();
  }
  const latency = summariseLatency(shapes, measured.cellsMs, predicted, measured.networkMs);
  const metrics: RetrainMetrics = {
    test_acc: testAcc,
    val_acc: history[history.length - 1].val_acc,
    params: countParams(net),
    macs: countMacs(net),
    ...latency,
    train_seconds: trainSeconds,
    measure_batch: batch,
    genotype: genotypeToText(genotype),
    kind: genotypeKind(ctx.inputs.genotype),
    n_skip_normal: genotypeOpCounts(genotype).normal.skip,
    ...measuredOn(target.label),
  };
  const cells = shapes.map((s, i): CellReport => ({
    index: s.index,
    ...shapeColumnValues({ ...s, batch, kind: 'eval' }),
    measured_ms: measured.cellsMs[i],
    predicted_ms: predicted ? predicted[i] : null,
  }));
  return { metrics, history, cells, clock: target.label.clock };
}

async function writeOutputs(ctx: StageContext<RetrainEvalParams>, net: EvalNetwork, genotype: Genotype, { metrics, history, cells, clock }: TrainedResult): Promise<void> {
  const p = ctx.params;
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  ctx.log(
    `retrain-eval: test acc ${metrics.test_acc.toFixed(4)}, ${metrics.params} params, network ${metrics.latency_ms.toFixed(2)} ms, ` +
      `cells measured ${metrics.measured_cells_latency_ms.toFixed(2)} ms vs predicted ${metrics.predicted_latency_ms?.toFixed(2) ?? 'n/a'} ms (error ${pct(metrics.latency_error)})`,
  );
  await ctx.writeJson('metrics', METRICS_JSON, {
    ...metrics,
    latency_error_compares: 'predicted_latency_ms (sum of the latency model over every cell) vs measured_cells_latency_ms (sum of every cell timed alone)',
    measure: { ...p.measure, clock, batch: metrics.measure_batch },
    cells,
  });
  await ctx.writeTable('metrics', METRICS_ARROW, metricsTable(metrics));
  await ctx.writeTable('history', HISTORY_FILE, historyTable(history));
  const meta = { genotype: JSON.stringify(genotype), C: String(p.C), layers: String(p.layers), auxiliary: String(p.auxiliary), ...networkMeta(net) };
  await ctx.writeSafetensors('weights', WEIGHTS_FILE, saveState(net), meta);
}

/** Where the latencies were measured: the fields the report pairs runs of one genotype by. */
function measuredOn(label: TargetLabel): Pick<RetrainMetrics, 'target' | 'backend' | 'browser' | 'renderer'> {
  return { target: label.target, backend: label.backend, browser: label.browser, renderer: label.renderer };
}

function networkMeta(net: EvalNetwork): Record<string, string> {
  const c = net.config;
  return { numClasses: String(c.numClasses), inputChannels: String(c.inputChannels), inputSize: String(c.inputSize), seed: String(c.seed) };
}
