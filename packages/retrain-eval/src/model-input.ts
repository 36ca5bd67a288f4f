import { UserError } from '@lenna/core';
import type { Genotype } from '@lenna/nn';
import { edgeCount, loadLatencyModel, type LatencyModel } from '@lenna/latency-model';

/** The measurement batch when neither measure.batch nor a latency model says one (dataset-gen's default). */
export const DEFAULT_MEASURE_BATCH = 16;

export interface LoadedModel {
  model: LatencyModel;
  /** The one batch size the model's training rows had, or null if they had several. */
  trainedBatch: number | null;
}

/** Loads the predictor's model artifact and checks that it can describe this genotype's cells. */
export async function loadModelFor(dir: string, g: Genotype): Promise<LoadedModel> {
  const model = await loadLatencyModel(dir);
  const edges = edgeCount(g.normal.length / 2);
  if (model.edges !== edges) {
    model.dispose();
    throw new UserError(`The latency model in ${dir} describes cells of ${model.edges} edges, but the genotype's cells have ${edges}; use a model trained on the same node count.`);
  }
  return { model, trainedBatch: model.trainedBatch };
}

/** measure.batch, else the model's training batch, else DEFAULT_MEASURE_BATCH. */
export function resolveMeasureBatch(param: number | undefined, loaded: LoadedModel | null): number {
  if (param !== undefined) return param;
  if (!loaded) return DEFAULT_MEASURE_BATCH;
  if (loaded.trainedBatch === null) {
    throw new UserError('The latency model was trained on several batch sizes; set the param measure.batch to the one retrain-eval should time and predict at.');
  }
  return loaded.trainedBatch;
}
