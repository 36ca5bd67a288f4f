export { stage, predictorParams, metricsTable, METRIC_COLUMNS, type ModelMetrics } from './stage.js';
export { loadLatencyModel, latencyModelFrom, cellQuery, trainedBatch, modelArtifact, kernelName, biasName, SKIP_KERNEL, MODEL_JSON, MODEL_WEIGHTS, type CellQuery, type LatencyModel, type ModelJson } from './model.js';
export {
  latencyMetrics,
  meanAbsoluteError,
  rootMeanSquaredError,
  meanAbsolutePercentageError,
  withinFraction,
  averageRanks,
  spearman,
  kendallTauB,
  type LatencyMetrics,
} from './metrics.js';
export { fitRidge, predictRidge, type RidgeModel } from './ridge.js';
export { initMlp, mlpForward, mlpTensors, layerSizes, type Activation, type MlpWeights } from './mlp.js';
export { trainMlp, predictTargets, type MlpTrainParams, type SplitData, type TrainedMlp, type EpochReport } from './train.js';
export { paritySpec, paritySvg, type ParityPoint } from './parity.js';
