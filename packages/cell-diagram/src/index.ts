export { cellDot, genotypeDot, cellEdgeCount, CELL_TITLES, type CellKind } from './dot.js';
export { cellSvg, genotypeSvg, genotypeSvgFromJson } from './render.js';
