export interface TradeoffPoint {
  latency: number;
  accuracy: number;
}

/**
 * Indices of the Pareto-optimal points (lower latency and higher accuracy are better), ordered by
 * latency. A point is kept when no other point is at least as fast and strictly more accurate, or
 * strictly faster and at least as accurate; of identical points only the first is kept.
 */
export function paretoFront(points: TradeoffPoint[]): number[] {
  const order = points
    .map((_, i) => i)
    .sort((a, b) => points[a].latency - points[b].latency || points[b].accuracy - points[a].accuracy || a - b);
  const front: number[] = [];
  let bestAccuracy = -Infinity;
  for (const i of order) {
    if (points[i].accuracy > bestAccuracy) {
      front.push(i);
      bestAccuracy = points[i].accuracy;
    }
  }
  return front;
}
