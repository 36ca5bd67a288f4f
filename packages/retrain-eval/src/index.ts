export { stage } from './stage.js';
export { augmentationFor, runRetrainEval, METRICS_JSON, METRICS_ARROW, WEIGHTS_FILE, HISTORY_FILE } from './run.js';
export { RetrainEvalParamsSchema, type RetrainEvalParams, type MeasureParams } from './params.js';
export { genotypeChoice, oneHotProbs, type CellType } from './one-hot.js';
export { predictCells, measureCells, measureNetwork, summariseLatency, type LatencySummary } from './latency.js';
export { loadModelFor, resolveMeasureBatch, DEFAULT_MEASURE_BATCH, type LoadedModel } from './model-input.js';
export { readGenotypeInput, genotypeKind, GENOTYPE_FILE, type GenotypeKind } from './genotype-input.js';
export { trainEvalNetwork, evaluateAccuracy, type EpochRecord, type TrainOptions, type TrainHooks } from './train.js';
export { historyTable, metricsTable, HISTORY_COLUMNS, METRIC_COLUMNS, type RetrainMetrics } from './tables.js';
