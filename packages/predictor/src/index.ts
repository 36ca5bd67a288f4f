export { stage } from './stage.js';
