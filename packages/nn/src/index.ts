export { DARTS_OPS, isOpName, createOp, reluConvBn, factorizedReduce, type OpName, type OpOptions } from './ops.js';
export { type ForwardContext, type Layer, outSize } from './layers.js';
export { cellShapes, edgeCount, nodesForEdges, isReductionLayer, type CellShape, type IndexedCellShape, type NetworkShapeConfig } from './shapes.js';
export { cellEdges } from './cell.js';
export { createSearchNetwork, resolveSearchConfig, tapedTailCells, DEFAULT_TAPE_BUDGET_BYTES, type SearchNetwork, type SearchNetworkConfig, type GradientRequest } from './search-network.js';
export { createEvalNetwork, evalCellShapes, dropPathRamp, dropPath, type EvalNetwork, type EvalNetworkConfig, type EvalForwardOptions } from './eval-network.js';
export {
  GenotypeSchema,
  parseGenotype,
  parseCellAlphas,
  genotypeFromAlphas,
  genotypeToText,
  genotypeFromText,
  genotypeOpCounts,
  type Genotype,
  type OpCounts,
} from './genotype.js';
export { createDiscreteCell, cellInputShapes, sampledCells, type DiscreteCell, type CellRunnable, type SampledCells } from './discrete-cell.js';
export { countParams, countMacs } from './counts.js';
export { saveState, saveAlphas, loadState, ALPHA_NAMES, type HasState } from './weights-io.js';
export { createSgd, createAdam, clipGradNorm, cosineLr, type Optimizer, type Grads, type SgdOptions, type AdamOptions } from './optim.js';
export { crossEntropy, createFirstOrderSearch, DARTS_SEARCH_DEFAULTS, type Batch, type FirstOrderOptions, type FirstOrderSearch } from './search-step.js';
export { createParamStore, ParamBuilder, disposeStore, type ParamStore } from './params.js';
export { UserError } from './errors.js';
