#!/usr/bin/env node
// Every relative link in the repository's Markdown files must point at a file or folder that a fresh
// clone has: a tracked (or new, not ignored) path inside the repository. Run by `npm test`.
// Links with a scheme (https:, mailto:) and in-page anchors are not checked; a link's #anchor is dropped.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Tracked files and new files git does not ignore: what a commit of this working tree would hold. */
function repositoryFiles() {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return out.split('\0').filter(Boolean);
}

/** Markdown without fenced code blocks and code spans (links there are examples, not links); line numbers kept. */
function proseLines(text) {
  let fence;
  return text.split('\n').map((line) => {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, '');
  });
}

/** Targets of inline links and images `[text](target "title")` and of reference definitions `[id]: target`. */
function linkTargets(line) {
  const targets = [];
  for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
  if (definition) targets.push(definition[1]);
  return targets.map((t) => t.replace(/^<|>$/g, ''));
}

const files = repositoryFiles();
const paths = new Set(files);
const folders = new Set(files.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
const problems = [];
let checked = 0;
for (const file of files.filter((f) => f.endsWith('.md'))) {
  proseLines(readFileSync(join(root, file), 'utf8')).forEach((line, i) => {
    for (const target of linkTargets(line)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      checked++;
      const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
      const resolved = path.startsWith('/') ? path.slice(1) : posix.join(posix.dirname(file), path);
      const inside = !relative(root, join(root, resolved)).startsWith('..');
      const normal = posix.normalize(resolved).replace(/\/$/, '');
      if (!inside) problems.push(`${file}:${i + 1}: ${target} points outside the repository`);
      else if (!paths.has(normal) && !folders.has(normal) && normal !== '.') problems.push(`${file}:${i + 1}: ${target} is not a file or folder of the repository`);
    }
  });
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\ncheck-links: ${problems.length} broken relative link(s); fix the path, or add the file to the repository.\n`);
  process.exit(1);
}
process.stdout.write(`check-links: ${checked} relative links in ${files.filter((f) => f.endsWith('.md')).length} Markdown files resolve.\n`);
