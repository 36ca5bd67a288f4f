import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath, systemRequirement } from '@lenna/core';
import { groupRows } from '../src/groups.js';
import { latexEscape, toLatex } from '../src/latex.js';
import { row } from './rows.js';

/** pdflatex, where kpsewhich also finds booktabs.sty (texlive-latex-recommended). */
function findLatex(): string | undefined {
  const pdflatex = findOnPath(['pdflatex']);
  const kpsewhich = findOnPath(['kpsewhich']);
  if (!pdflatex || !kpsewhich) return undefined;
  try {
    return execFileSync(kpsewhich, ['booktabs.sty'], { encoding: 'utf8' }).trim() ? pdflatex : undefined;
  } catch {
    return undefined;
  }
}

const latex = systemRequirement(findLatex(), {
  thing: 'LATEX',
  what: 'pdflatex with booktabs',
  tests: 'the table.tex compile test',
  howTo: 'apt-get install texlive-latex-base texlive-latex-recommended',
});

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

/** Hostile names: every character LaTeX treats specially, op names' underscores, and a λ. */
const ROWS = [
  row({ instance: 'retrain_eval@lambda=0,seed=1', lambda: 0, seed: 1, test_acc: 0.9751, latency_ms: 6.504, cells_measured_ms: 5.9, cells_predicted_ms: 6.01, n_skip_normal: 1, params: 91234 }),
  row({ instance: 'retrain_eval@lambda=0,seed=2', lambda: 0, seed: 2, test_acc: 0.9651, latency_ms: 6.704, cells_measured_ms: 6.1, cells_predicted_ms: 6.01, n_skip_normal: 1, params: 91234 }),
  row({ instance: 'sep_conv_3x3 50% & #1 $x^2$ {a} ~b \\c <d> |e| λ', lambda: 0.5, test_acc: 0.91, latency_ms: 1.8, target_ms: 2 }),
  row({ instance: 'retrain-random@index=0', kind: 'random', test_acc: 0.9, latency_ms: 2 }),
];

function compile(pdflatex: string, dir: string): Promise<{ ok: boolean; log: string }> {
  const doc = '\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\begin{table}\n\\input{table.tex}\n\\end{table}\n\\end{document}\n';
  return writeFile(join(dir, 'doc.tex'), doc).then(
    () =>
      new Promise((resolve) => {
        execFile(pdflatex, ['-interaction=nonstopmode', '-halt-on-error', 'doc.tex'], { cwd: dir, timeout: 60_000 }, (error, stdout) => resolve({ ok: !error, log: String(stdout) }));
      }),
  );
}

describe('table.tex', () => {
  it('escapes what LaTeX would read as commands, math or comments', () => {
    expect(latexEscape('sep_conv_3x3')).toBe('sep\\_conv\\_3x3');
    expect(latexEscape('50% & #1 $x^2$ {a} ~b \\c')).toBe('50\\% \\& \\#1 \\$x\\textasciicircum{}2\\$ \\{a\\} \\textasciitilde{}b \\textbackslash{}c');
    expect(latexEscape('λ=1 ± 2 <a>|b|')).toBe('$\\lambda$=1 $\\pm$ 2 \\textless{}a\\textgreater{}\\textbar{}b\\textbar{}');
    expect(latexEscape('naïve')).toBe('na?ve');
  });

  it('writes mean ± std per configuration where seeds repeat one, else one line per run', () => {
    const grouped = toLatex(ROWS, groupRows(ROWS));
    expect(grouped).toContain('\\begin{tabular}{lrrrrrrr}');
    expect(grouped).toContain('\\toprule');
    // λ=0 over seeds 1 and 2: 97.51 and 96.51 → 97.01 ± 0.71; latency 6.504 and 6.704 → 6.60 ± 0.14.
    expect(grouped).toContain('search, $\\lambda = 0$ & 2 & 97.01 $\\pm$ 0.71 & 6.60 $\\pm$ 0.14 & 6.00 $\\pm$ 0.14 & 6.01 $\\pm$ 0.00 & 1.0 $\\pm$ 0.0 & 91.2 $\\pm$ 0.0 \\\\');
    expect(grouped).toContain('search, $\\lambda = 0.5$, $T = 2$\\,ms & 1 & 91.00 & 1.80 & -- &');
    expect(grouped).toContain('random cell & 1 & 90.00 & 2.00 &');
    const perRun = toLatex(ROWS.slice(2), groupRows(ROWS.slice(2)));
    expect(perRun).toContain('Target (ms)');
    expect(perRun).toContain('sep\\_conv\\_3x3 50\\% \\& \\#1');
    expect(perRun.split('\n').filter((l) => l.endsWith('\\\\'))).toHaveLength(3);
  });

  it.skipIf(latex.skip)('compiles with pdflatex and booktabs in a minimal document', async () => {
    const pdflatex = latex.get();
    for (const rows of [ROWS, ROWS.slice(2)]) {
      const dir = await mkdtemp(join(tmpdir(), 'lenna-latex-'));
      cleanup.push(dir);
      await writeFile(join(dir, 'table.tex'), toLatex(rows, groupRows(rows)));
      const result = await compile(pdflatex, dir);
      expect(result.ok, result.log.slice(-3000)).toBe(true);
      expect(result.log).not.toMatch(/Undefined control sequence|Missing \$ inserted|LaTeX Warning/);
    }
  });
});
