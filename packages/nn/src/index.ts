export { DARTS_OPS, isOpName, createOp, reluConvBn, factorizedReduce, type OpName, type OpOptions } from './ops.js';
export { type ForwardContext, type Layer, outSize } from './layers.js';
export { cellShapes, edgeCount, nodesForEdges, isReductionLayer, CELL_KINDS, type CellKind, type CellShape, type IndexedCellShape, type NetworkShapeConfig } from './shapes.js';
export { cellEdges } from './cell.js';
export { createSearchNetwork, resolveSearchConfig, type SearchNetwork, type SearchNetworkConfig, type GradientRequest } from './search-network.js';
export { tapedTailCells, DEFAULT_TAPE_BUDGET_BYTES } from './segmented-grads.js';
export { createEvalNetwork, evalCellShapes, dropPathRamp, dropPath, type EvalNetwork, type EvalNetworkConfig, type EvalForwardOptions, type EvalGradientOptions } from './eval-network.js';
export {
  GenotypeSchema,
  parseGenotype,
  parseCellAlphas,
  parseCellAlphasMaxSkips,
  genotypeFromAlphas,
  genotypeToText,
  genotypeFromText,
  genotypeOpCounts,
  type DeriveOptions,
  type Genotype,
  type OpCounts,
} from './genotype.js';
export { randomGenotype } from './random-genotype.js';
export { createDiscreteCell, cellInputShapes, sampledCells, type DiscreteCell, type CellRunnable, type SampledCells } from './discrete-cell.js';
export { countParams, countMacs } from './counts.js';
export { saveState, saveAlphas, loadState, ALPHA_NAMES, type HasState } from './weights-io.js';
export { createSgd, createAdam, clipGradNorm, cosineLr, type Optimizer, type SgdOptimizer, type Grads, type SgdOptions, type AdamOptions } from './optim.js';
export {
  crossEntropy,
  countCorrect,
  createEvalStep,
  NonFiniteError,
  type Batch,
  type LossAndGrads,
  type StepResult,
  type EvalStep,
  type EvalStepOptions,
} from './train-step.js';
export { createSearchStep, DARTS_SEARCH_DEFAULTS, type ArchTerm, type SearchStep, type SearchStepOptions, type SearchStepResult } from './search-step.js';
export { unrolledArchGrads, type UnrolledProblem } from './second-order.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FILE, type CheckpointId, type CheckpointState, type TrainingParts } from './checkpoint.js';
export { createParamStore, ParamBuilder, disposeStore, type ParamStore } from './params.js';
export { UserError } from './errors.js';
export {
  exportWebModel,
  webModelArtifacts,
  WEB_MODEL_JSON,
  WEB_MODEL_WEIGHTS,
  WEB_MODEL_INPUT,
  WEB_MODEL_OUTPUT,
  type WebModel,
  type WebModelJson,
} from './web-model.js';
