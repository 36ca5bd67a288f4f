export { stage, sampleCell } from './stage.js';
export { randomCellParams, type RandomCellParams } from './params.js';
