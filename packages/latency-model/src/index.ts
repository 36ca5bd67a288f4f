export {
  cellEdges,
  cellShapes,
  edgeCount,
  nodesForEdges,
  cellShapeSchema,
  CELL_KINDS,
  type CellKind,
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
  ADDITIVE_METADATA_KEY,
  additiveMs,
  readAdditiveTable,
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
  type AdditiveCoefficients,
  type AdditiveTable,
} from './columns.js';
export { fitTransforms, applyTransforms, parseTransforms, msToTarget, targetToMs, SHAPE_FEATURES, CELL_FEATURES, type Transforms, type Standardiser, type ProbMode, type ModelBase } from './transforms.js';
export { transformFeaturesTf, targetToMsTf } from './transforms-tf.js';
export { requireTrainedShapes, coefficientsFor, type ShapeCheckOptions } from './known-shapes.js';
export { initMlp, mlpForward, mlpTensors, kernelL2, type Activation, type MlpWeights, type ForwardOptions } from './mlp.js';
export { loadLatencyModel, latencyModelFrom, modelArtifact, trainedBatch, MODEL_JSON, MODEL_WEIGHTS, type LatencyModel, type ModelJson, type ModelDescription } from './model.js';
export { syntheticDatasetTable, writeSyntheticSplits, SYNTHETIC_SHAPES, type SyntheticOptions } from './synthetic.js';
