export { stage, columnSummaryParams, summarize, quantile, type ColumnSummaryParams, type Summary } from './stage.js';
