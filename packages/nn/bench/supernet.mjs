// One first-order DARTS search step at the reference configuration, per backend: nn's
// createSearchStep(...).step(train, val), the very call darts-search makes every iteration.
// Usage: node bench/supernet.mjs [--json] [--all] [--steps N]   (build the package first)
//   --all   also the cpu backend (a forward pass alone takes ~50 s there)
//   --json  print, as the last line, [{"backend","msPerStep","peakRssMB"}]
//   SUPERNET_BATCH=n overrides the batch of 32 (for quick trials only).
// Each backend runs in its own process (tfjs picks a backend once per process), which also makes
// the peak RSS that backend's own.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const REFERENCE = { C: 8, layers: 5, nodes: 4, batch: Number(process.env.SUPERNET_BATCH ?? 32), size: 28, channels: 1, classes: 10 };
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

if (option('--child')) await child(option('--child'), Number(option('--steps', 3)));
else parent();

function installed(pkg) {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function parent() {
  const candidates = [
    ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
    ['tensorflow', '@tensorflow/tfjs-node'],
    ['wasm', '@tensorflow/tfjs-backend-wasm'],
    ['cpu', '@tensorflow/tfjs'],
  ];
  const backends = candidates.filter(([name, pkg]) => installed(pkg) && (name !== 'cpu' || flag('--all'))).map(([name]) => name);
  const rows = [];
  for (const backend of backends) {
    const steps = option('--steps', backend === 'cpu' ? '1' : '3');
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend, '--steps', steps], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    rows.push(JSON.parse(out.trim().split('\n').pop()));
  }
  const { C, layers, nodes, batch, size, channels, classes } = REFERENCE;
  console.log(`supernet: first-order DARTS step (nn's createSearchStep, as darts-search runs it), C ${C}, ${layers} cells, ${nodes} nodes, 8 ops, batch ${batch}, ${size}×${size}×${channels}, ${classes} classes`);
  console.log('backend          ms/step    peak RSS MB   steps');
  for (const r of rows) console.log(`${r.backend.padEnd(16)} ${r.msPerStep.toFixed(0).padStart(8)} ${r.peakRssMB.toFixed(0).padStart(13)} ${String(r.steps).padStart(7)}`);
  if (flag('--json')) console.log(JSON.stringify(rows.map(({ backend, msPerStep, peakRssMB }) => ({ backend, msPerStep, peakRssMB }))));
}

async function child(backend, steps) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('@lenna/compute');
  const { createRng } = await import('@lenna/core');
  const nn = await import('../dist/index.js');
  await initBackend({ backend, quiet: true });
  const { C, layers, nodes, batch, size, channels, classes } = REFERENCE;
  const net = nn.createSearchNetwork({ C, layers, nodes, numClasses: classes, inputChannels: channels, inputSize: size, seed: 0 });
  const search = nn.createSearchStep(net, { ...nn.DARTS_SEARCH_DEFAULTS, order: 'first' });
  const rng = createRng(1);
  const makeBatch = () => ({
    x: tf.tensor4d(Float32Array.from({ length: batch * size * size * channels }, () => rng.normal()), [batch, size, size, channels]),
    y: tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(classes)), 'int32'),
  });
  const train = makeBatch();
  const val = makeBatch();
  const times = [];
  // One untimed warm-up step (kernel set-up, first allocations), except on cpu where a step takes minutes.
  const warmup = backend === 'cpu' ? 0 : 1;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    search.step(train, val);
    const ms = performance.now() - t0;
    if (i >= warmup) times.push(ms);
    process.stderr.write(`  ${backend} step ${i + 1 - warmup}/${steps}${i < warmup ? ' (warm-up)' : ''}: ${ms.toFixed(0)} ms\n`);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const msPerStep = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ backend, msPerStep, peakRssMB, steps }));
}
