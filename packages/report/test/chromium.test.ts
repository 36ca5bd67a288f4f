import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM_HOW_TO, findChromium, runStageInProcess, systemRequirement } from '@lenna/core';
import { HTML_COLUMNS } from '../src/html-format.js';
import { stage } from '../src/stage.js';
import { makeFakeSweep, RANDOM, SWEEP } from './fixtures.js';

const browser = systemRequirement(findChromium(), { thing: 'BROWSER', what: 'Chromium', tests: 'the report.html browser test', howTo: CHROMIUM_HOW_TO });
const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

/**
 * Measures what the browser laid out: table rows and cells, and each inline SVG's box and the box
 * of what is drawn inside it. Injected into a COPY of the report, so the artifact itself has no script.
 */
const PROBE = `<script>
window.addEventListener('load', () => {
  const rows = [...document.querySelectorAll('#report-table tbody tr.run')].map((tr) => tr.children.length);
  const svgs = [...document.querySelectorAll('.plots figure > svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    const drawn = svg.getBBox();
    return { id: svg.parentElement.id, width: box.width, height: box.height, drawnWidth: drawn.width, drawnHeight: drawn.height, shapes: svg.querySelectorAll('path, line, circle, rect, text').length };
  });
  // Each diagram: the edges it should have (data-edges), the edges laid out with a visible path, its box.
  const cells = [...document.querySelectorAll('figure.cell')].map((figure) => {
    const svg = figure.querySelector('svg');
    const box = svg.getBoundingClientRect();
    const edges = [...svg.querySelectorAll('g.edge')].filter((g) => { const p = g.querySelector('path'); return p && p.getTotalLength() > 0; });
    return { expected: Number(figure.dataset.edges), edges: edges.length, labels: svg.querySelectorAll('g.edge.op text').length, width: box.width, height: box.height };
  });
  const page = { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, tableRight: document.querySelector('#report-table').getBoundingClientRect().right };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify({ rows, svgs, cells, page }))));
  document.body.appendChild(pre);
});
</script>`;

interface Probe {
  rows: number[];
  svgs: { id: string; width: number; height: number; drawnWidth: number; drawnHeight: number; shapes: number }[];
  cells: { expected: number; edges: number; labels: number; width: number; height: number }[];
  page: { scrollWidth: number; innerWidth: number; tableRight: number };
}

/** Chromium's DOM after load; node's execFile rather than execa so this package needs no extra dependency. */
function dumpDom(chromium: string, file: string): Promise<string> {
  // A laptop screen's width: nothing may run off it.
  const args = ['--headless', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', '--window-size=1400,2000', '--virtual-time-budget=5000', '--dump-dom', pathToFileURL(file).href];
  return new Promise((resolve, reject) => {
    execFile(chromium, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${chromium} failed (${error.message}): ${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

it.skipIf(browser.skip)('report.html renders its table, every cell diagram and plot in headless Chromium, within 1400 px', async () => {
  const chromium = browser.get();
  const sweep = await makeFakeSweep({ withPredictor: true, withRandom: true });
  const out = await mkdtemp(join(tmpdir(), 'lenna-report-html-'));
  cleanup.push(sweep.root, out);
  await runStageInProcess(stage, { params: {}, inputs: sweep.inputs, stagingDir: out });
  const html = await readFile(join(out, 'html', 'report.html'), 'utf8');
  const probed = join(out, 'probed.html');
  await writeFile(probed, html.replace('</body>', `${PROBE}\n</body>`));

  const dom = await dumpDom(chromium, probed);
  const encoded = /<pre id="probe">([A-Za-z0-9+/=]+)<\/pre>/.exec(dom)?.[1];
  expect(encoded, 'the probe script did not run: the page did not load').toBeDefined();
  const probe = JSON.parse(Buffer.from(encoded!, 'base64').toString('utf8')) as Probe;

  const runs = SWEEP.length + RANDOM.length;
  expect(probe.rows).toEqual(Array.from({ length: runs }, () => HTML_COLUMNS.length));
  for (const s of SWEEP) expect(dom).toContain(`retrain-eval@<wbr>lambda=${s.lambda}</td>`);
  expect(probe.page.scrollWidth, 'the page is wider than 1400 px').toBeLessThanOrEqual(probe.page.innerWidth);
  expect(probe.page.tableRight).toBeLessThanOrEqual(probe.page.innerWidth);
  // Two diagrams per run; every edge (8 ops + 4 concat for these cells) laid out, every op labelled.
  expect(probe.cells).toHaveLength(2 * runs);
  for (const cell of probe.cells) {
    expect(cell.expected).toBe(12);
    expect(cell.edges).toBe(cell.expected);
    expect(cell.labels).toBe(8);
    expect(cell.width).toBeGreaterThan(200);
    expect(cell.height).toBeGreaterThan(50);
  }
  const plotFiles = (await readdir(join(out, 'plots'))).sort();
  expect(probe.svgs.map((s) => s.id).sort()).toEqual(plotFiles.map((f) => `plot-${f.replace('.svg', '')}`));
  for (const svg of probe.svgs) {
    expect(svg.width, svg.id).toBeGreaterThan(100);
    expect(svg.height, svg.id).toBeGreaterThan(100);
    expect(svg.drawnWidth, svg.id).toBeGreaterThan(50);
    expect(svg.drawnHeight, svg.id).toBeGreaterThan(50);
    expect(svg.shapes, svg.id).toBeGreaterThan(1);
  }
});
