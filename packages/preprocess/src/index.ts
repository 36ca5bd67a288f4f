export { stage, datasetFile } from './stage.js';
export { DARTS_OPS, parseProbColumns, probColumnName } from './ops.js';
export { NUMERIC_SHAPE_COLUMNS, shapeKey, flattenProbs, type CellShape, type CellFeatures, type CellRow } from './cell.js';
export { stratifiedSplit, type SplitFractions, type SplitIndices } from './split.js';
export { readCellRows, takeRows, type DatasetRows } from './table.js';
export {
  fitTransforms,
  applyTransforms,
  parseTransforms,
  shapeFeatureValues,
  featureCount,
  msToTarget,
  targetToMs,
  SHAPE_FEATURES,
  type Transforms,
  type Standardiser,
  type ProbMode,
} from './transforms.js';
export { transformFeaturesTf, msToTargetTf, targetToMsTf } from './transforms-tf.js';
export { syntheticDatasetTable, SYNTHETIC_SHAPES, type SyntheticOptions } from './synthetic.js';
