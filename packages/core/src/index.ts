export * from './stage.js';
export * from './random.js';
