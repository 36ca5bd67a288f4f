// The kernels' WebAssembly modules as WAT text, with their parameter and local names, for reading
// or diffing what the builder emits. Usage: node scripts/wat.mjs [simd|bn|filter-grad ...] (after a build).
import wabtInit from 'wabt';
import { assembleModule } from '../dist/wasm/module.js';
import { SIMD_LOOP_FUNCTIONS } from '../dist/kernels/simd.js';
import { BN_SIMD_FUNCTIONS } from '../dist/kernels/bn-simd.js';
import { FILTER_GRAD_TILES } from '../dist/kernels/filter-grad-simd.js';

const MODULES = { simd: SIMD_LOOP_FUNCTIONS, bn: BN_SIMD_FUNCTIONS, 'filter-grad': FILTER_GRAD_TILES };
const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in MODULES));
if (unknown.length > 0) {
  console.error(`Unknown module ${unknown.join(', ')}; pick from ${Object.keys(MODULES).join(', ')} (none: all of them).`);
  process.exit(2);
}
const wabt = await wabtInit();
for (const name of names.length > 0 ? names : Object.keys(MODULES)) {
  const module = wabt.readWasm(assembleModule(MODULES[name], { names: true }), { readDebugNames: true, simd: true });
  module.applyNames();
  console.log(`;; ${name}\n${module.toText({ foldExprs: true, inlineExport: true })}`);
  module.destroy();
}
