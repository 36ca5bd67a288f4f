import { defineStage, UserError, type StageContext } from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { ALPHA_NAMES, genotypeToText, saveAlphas } from '@lenna/nn';
import { loadLatencyModel, type LatencyModel } from '@lenna/latency-model';
import { fingerprintDatasetFiles, portableDatasetSpec } from '@lenna/data';
import { loadSearchData } from './data.js';
import { historyTable } from './history.js';
import { dartsSearchParams, type DartsSearchParams } from './params.js';
import { runSearch, type SearchResult } from './search.js';

type Ctx = StageContext<DartsSearchParams>;

/** The batch the predictor is asked about: the param, else the batch its data was measured at, else the search's. */
function latencyBatchOf(model: LatencyModel, params: DartsSearchParams): number {
  return params.latencyBatch ?? model.trainedBatch ?? params.batchSize;
}

async function openLatencyModel(ctx: Ctx): Promise<{ model: LatencyModel; batch: number } | undefined> {
  const input = ctx.inputs.model;
  if (!input) {
    if (ctx.params.lambda > 0) {
      throw new UserError(`darts-search has lambda ${ctx.params.lambda} but no latency model input; give it the predictor's model (needs: model) or set lambda to 0.`);
    }
    return undefined;
  }
  const model = await loadLatencyModel(input.dir);
  return { model, batch: latencyBatchOf(model, ctx.params) };
}

/** The network whose cells E[lat] and genotype_latency_ms sum over, as summary.json names it. */
function latencyNetworkOf(params: DartsSearchParams, result: SearchResult): { network: 'search' | 'eval'; C: number; layers: number; input_size: number } {
  const { C, layers, inputSize } = result.net.config;
  const other = params.latencyNetwork;
  return other ? { network: 'eval', C: other.C, layers: other.layers, input_size: inputSize } : { network: 'search', C, layers, input_size: inputSize };
}

async function writeOutputs(ctx: Ctx, result: SearchResult, batch: number | null): Promise<void> {
  const { params } = ctx;
  await ctx.writeJson('genotype', 'genotype.json', result.genotype);
  const alphas = saveAlphas(result.net);
  await ctx.writeSafetensors('alphas', 'alphas.safetensors', { [ALPHA_NAMES.normal]: alphas[ALPHA_NAMES.normal], [ALPHA_NAMES.reduce]: alphas[ALPHA_NAMES.reduce] }, { ops: JSON.stringify(params.ops) });
  await ctx.writeTable('history', 'history.arrow', historyTable(result.history));
  await ctx.writeJson('summary', 'summary.json', {
    lambda: params.lambda,
    latency_loss: params.latencyLoss,
    order: params.order,
    seed: params.seed,
    epochs: params.epochs,
    search_seconds: result.history.reduce((s, r) => s + r.seconds, 0),
    genotype_text: genotypeToText(result.genotype),
    expected_latency_ms: { initial: result.initialLatencyMs, final: result.finalLatencyMs },
    genotype_latency_ms: result.genotypeLatencyMs,
    target_ms: params.targetMs ?? null,
    latency_network: latencyNetworkOf(params, result),
    latency_batch: batch,
    ops: params.ops,
  });
}

export const stage = defineStage({
  name: 'darts-search',
  version: 2,
  description: 'Latency-aware DARTS: α and the weights trained in turn, loss CE + λ·E[lat]/L_ref (or a latency target, CE + λ·|E[lat]/T − 1|) with E[lat] from the frozen latency predictor.',
  params: dartsSearchParams,
  inputs: {
    model: { kind: 'files', description: "the predictor's model (model.json + model.safetensors); optional when lambda is 0", optional: true },
  },
  outputs: {
    genotype: { kind: 'json', description: 'genotype.json: the DARTS Genotype of the final α' },
    alphas: { kind: 'safetensors', description: 'alphas.safetensors: alphas_normal, alphas_reduce F32 [edges, ops]; metadata ops = JSON list' },
    history: { kind: 'arrow', description: 'history.arrow: one row per epoch (losses, accuracies, E[lat], the derived genotype\'s latency, α entropy, genotype, skips, seconds, lr)' },
    summary: { kind: 'json', description: 'summary.json: lambda, seed, epochs, search_seconds, genotype_text, expected_latency_ms {initial, final}, genotype_latency_ms, target_ms, latency_network, ops' },
  },
  measures: false,
  // Data files outside the store (CIFAR-10, Fashion-MNIST): their content enters the cache key, their path does not.
  externalFingerprint: (p) => fingerprintDatasetFiles(p.dataset),
  keyParams: (p) => ({ ...p, dataset: portableDatasetSpec(p.dataset) }),
  async run(ctx) {
    const backend = await initBackend({ quiet: true });
    const latency = await openLatencyModel(ctx);
    try {
      const data = await loadSearchData(ctx.params);
      ctx.log(`darts-search: backend ${backend.name}; ${data.weights.count} weight / ${data.arch.count} α images at ${data.hw}×${data.hw}, λ ${ctx.params.lambda}, ${ctx.params.order} order`);
      const result = await runSearch({ params: ctx.params, data, latency, scratchDir: ctx.scratchDir, progress: ctx.progress, log: ctx.log, signal: ctx.signal });
      try {
        await writeOutputs(ctx, result, latency?.batch ?? null);
      } finally {
        result.net.dispose();
      }
    } finally {
      latency?.model.dispose();
    }
  },
});
