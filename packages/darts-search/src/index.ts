export { stage } from './stage.js';
export { dartsSearchParams, searchDatasetSchema, type DartsSearchParams } from './params.js';
export { runSearch, SearchInterrupted, type SearchSetup, type SearchResult } from './search.js';
export { loadSearchData, type SearchData } from './data.js';
export { createLatencyTerm, modelColumnOrder, type LatencyTerm } from './latency.js';
export { architectureLoss, type LatencyObjective } from './arch-loss.js';
export { genotypeProbs, geneProbs } from './genotype-probs.js';
export { historyTable, meanAlphaEntropy, type HistoryRow } from './history.js';
