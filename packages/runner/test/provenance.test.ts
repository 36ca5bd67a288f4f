import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex, type RunFacts } from '@lenna/core';
import { byId, makeWorkspace, removeWorkspaces, repoRoot } from './helpers.js';

afterAll(removeWorkspaces);

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@lenna.test', '-c', 'user.name=LENNA test', ...args], { cwd, encoding: 'utf8' }).trim();

async function provenanceOf(ws: { store: string }, stdout: string): Promise<{ run: RunFacts & { git: NonNullable<RunFacts['git']>; pipeline: NonNullable<RunFacts['pipeline']> } }> {
  return JSON.parse(await readFile(join(ws.store, 'objects', byId(stdout).report.outputs.html, 'provenance.json'), 'utf8'));
}

// One workspace and one pipeline run for all of it: each run of report.yaml starts several stage processes.
describe('run facts for provenance (ctx.run), lenna show --svg', () => {
  it('gives the report the commit, the pipeline and lock hashes, the date and the versions, outside the cache key; show --svg draws a genotype', async () => {
    const ws = await makeWorkspace();
    // The workspace is a temporary folder: no git work tree above it.
    const env = { GIT_CEILING_DIRECTORIES: join(ws.dir, '..') };
    const first = await ws.lenna(['run', 'report.yaml', '--json'], { env });
    expect(first.exitCode, first.stderr).toBe(0);
    const report = byId(first.stdout).report;
    const provenance = await provenanceOf(ws, first.stdout);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(provenance.run.lenna).toBe(version);
    expect(provenance.run.node).toBe(process.version);
    expect(Date.now() - Date.parse(provenance.run.date)).toBeLessThan(10 * 60_000);
    expect(provenance.run.git).toBeNull();
    expect(provenance.run.pipeline.file).toBe('report.yaml');
    expect(provenance.run.pipeline.sha256).toBe(sha256Hex(await readFile(join(ws.dir, 'report.yaml'))));
    // The lock as the report started: it already held the upstream instances, not yet the report's own entry.
    expect(provenance.run.pipeline.lockFile).toBe('report.lock.json');
    expect(provenance.run.pipeline.lockSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(provenance.run.pipeline.lockSha256).not.toBe(sha256Hex(await readFile(join(ws.dir, 'report.lock.json'))));

    // In a git work tree: the commit, clean. Run facts are not in the cache key: the report is replayed...
    git(ws.dir, 'init', '-q');
    git(ws.dir, 'add', 'report.yaml', 'stages');
    git(ws.dir, 'commit', '-q', '-m', 'fixture');
    expect(byId((await ws.lenna(['run', 'report.yaml', '--json'])).stdout).report.state).toBe('cached');
    // ...until it is run again, and then it names the commit.
    const forced = await ws.lenna(['run', 'report.yaml', '--force', 'report', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const committed = await provenanceOf(ws, forced.stdout);
    expect(committed.run.git).toEqual({ commit: git(ws.dir, 'rev-parse', 'HEAD'), dirty: false });
    const html = await readFile(join(ws.store, 'objects', byId(forced.stdout).report.outputs.html, 'report.html'), 'utf8');
    expect(html).toContain(`title="${committed.run.git.commit}"`);
    // What derives from the inputs alone did not change.
    expect(byId(forced.stdout).report.outputs.table).toBe(report.outputs.table);
    expect(byId(forced.stdout).report.outputs.cells).toBe(report.outputs.cells);
    await ws.edit('report.yaml', (text) => `${text}\n# touched\n`);
    const dirty = await ws.lenna(['run', 'report.yaml', '--force', 'report', '--json']);
    expect((await provenanceOf(ws, dirty.stdout)).run.git.dirty).toBe(true);

    // lenna show --svg: from an instance, an artifact id, a genotype.json.
    const search = byId(first.stdout)['search@lambda=0.5'];
    const byInstance = await ws.lenna(['show', 'search@lambda=0.5', '--pipeline', 'report.yaml', '--svg', 'a.svg']);
    expect(byInstance.exitCode, byInstance.stderr).toBe(0);
    expect(byInstance.stdout).toBe('a.svg: the normal and reduction cells of search@lambda=0.5');
    const svg = await ws.read('a.svg');
    // fake-search's cells: 4 nodes, 8 ops and 4 concat edges each.
    expect(svg.match(/class="edge op"/g)).toHaveLength(16);
    expect(svg.match(/class="edge concat"/g)).toHaveLength(8);
    expect(svg).toContain('>reduction cell</text>');
    expect((await ws.lenna(['show', search.outputs.genotype, '--svg', 'b.svg'])).exitCode).toBe(0);
    const file = join(ws.store, 'objects', search.outputs.genotype, 'genotype.json');
    expect((await ws.lenna(['show', file, '--svg', 'c.svg'])).exitCode).toBe(0);
    // The same genotype, so the same edges (the title differs: the target as given).
    const edges = (text: string) => text.match(/class="edge (op|concat)">\s*<title>[^<]+/g);
    expect(edges(await ws.read('c.svg'))).toEqual(edges(await ws.read('b.svg')));
    expect(edges(await ws.read('c.svg'))).toEqual(edges(svg));
    const noGenotype = await ws.lenna(['show', 'report', '--pipeline', 'report.yaml', '--svg', 'd.svg']);
    expect(noGenotype.exitCode).toBe(2);
    expect(noGenotype.stderr).toMatch(/report has no 'genotype' output/);
    const notGenotype = await ws.lenna(['show', join(ws.store, 'objects', search.outputs.summary, 'summary.json'), '--svg', 'e.svg']);
    expect(notGenotype.exitCode).toBe(2);
    expect(notGenotype.stderr).toMatch(/summary\.json is not a DARTS genotype/);
  });
});
