export {
  cellEdges,
  cellShapes,
  edgeCount,
  nodesForEdges,
  cellShapeSchema,
  type CellShape,
  type IndexedCellShape,
  type BatchedCellShape,
  type CellFeatures,
  type CellRow,
} from './cell.js';
export {
  SHAPE_KEY_LEGEND,
  MEASUREMENT_COLUMNS,
  OPS_METADATA_KEY,
  shapeColumnValues,
  shapeKey,
  probColumnName,
  probColumnNames,
  datasetTable,
  readCellRows,
  measurementColumn,
  type ShapeColumnValues,
  type MeasurementColumn,
  type MeasurementValues,
  type DatasetTableRow,
  type DatasetRows,
} from './columns.js';
export { fitTransforms, applyTransforms, parseTransforms, msToTarget, targetToMs, SHAPE_FEATURES, type Transforms, type Standardiser, type ProbMode } from './transforms.js';
export { transformFeaturesTf, msToTargetTf, targetToMsTf } from './transforms-tf.js';
export { initMlp, mlpForward, mlpTensors, kernelL2, type Activation, type MlpWeights, type ForwardOptions } from './mlp.js';
export { loadLatencyModel, latencyModelFrom, modelArtifact, trainedBatch, MODEL_JSON, MODEL_WEIGHTS, type LatencyModel, type ModelJson } from './model.js';
export { syntheticDatasetTable, writeSyntheticSplits, SYNTHETIC_SHAPES, type SyntheticOptions } from './synthetic.js';
