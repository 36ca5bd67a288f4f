import type { EvalNetwork } from './eval-network.js';
import type { SearchNetwork } from './search-network.js';

/**
 * Trainable parameters (not α, not BatchNorm running statistics). As DARTS reports it, the
 * auxiliary head is left out unless asked for.
 */
export function countParams(net: SearchNetwork | EvalNetwork, opts: { includeAuxiliary?: boolean } = {}): number {
  let total = 0;
  for (const [name, v] of net.store.weights) {
    if (!opts.includeAuxiliary && name.startsWith('auxiliary.')) continue;
    total += v.size;
  }
  return total;
}

/**
 * Multiply-accumulates of one forward pass of one sample at the network's inputSize: convolutions
 * and the classifier only (BatchNorm, ReLU, pooling and sums are not counted). A search network
 * counts every op of every mixed edge; the auxiliary head is not counted.
 */
export function countMacs(net: SearchNetwork | EvalNetwork): number {
  return net.macs();
}
