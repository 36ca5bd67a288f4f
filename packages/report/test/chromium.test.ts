import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM_HOW_TO, findChromium, runStageInProcess, systemRequirement } from '@lenna/core';
import { REPORT_COLUMNS } from '../src/row.js';
import { stage } from '../src/stage.js';
import { makeFakeSweep, SWEEP } from './fixtures.js';

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
  const rows = [...document.querySelectorAll('#report-table tbody tr')].map((tr) => tr.children.length);
  const svgs = [...document.querySelectorAll('figure > svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    const drawn = svg.getBBox();
    return { id: svg.parentElement.id, width: box.width, height: box.height, drawnWidth: drawn.width, drawnHeight: drawn.height, shapes: svg.querySelectorAll('path, line, circle, rect, text').length };
  });
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify({ rows, svgs }))));
  document.body.appendChild(pre);
});
</script>`;

interface Probe {
  rows: number[];
  svgs: { id: string; width: number; height: number; drawnWidth: number; drawnHeight: number; shapes: number }[];
}

/** Chromium's DOM after load; node's execFile rather than execa so this package needs no extra dependency. */
function dumpDom(chromium: string, file: string): Promise<string> {
  const args = ['--headless', '--disable-gpu', '--no-sandbox', '--virtual-time-budget=5000', '--dump-dom', pathToFileURL(file).href];
  return new Promise((resolve, reject) => {
    execFile(chromium, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${chromium} failed (${error.message}): ${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

it.skipIf(browser.skip)('report.html renders its table and every plot in headless Chromium', async () => {
  const chromium = browser.get();
  const sweep = await makeFakeSweep({ withPredictor: true });
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

  expect(probe.rows).toEqual(SWEEP.map(() => REPORT_COLUMNS.length));
  for (const s of SWEEP) expect(dom).toContain(`retrain-eval@lambda=${s.lambda}</td>`);
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
