import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UserError } from '@lenna/core';

/**
 * Render a vega-lite spec to an SVG string in Node: no browser, no canvas (vega estimates text
 * widths without one, which keeps the bytes the same on every machine).
 */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    // vega numbers clip paths and gradients with process-wide counters: reset them so a plot's
    // bytes do not depend on what was rendered before it in this process.
    vega.resetSVGDefIds();
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Give every id in an SVG a prefix (and rewrite its references) so several SVGs can sit inline in
 * one HTML page without their clip paths or gradients colliding.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const match of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(match[1]);
  let out = svg;
  for (const id of ids) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out
      .replace(new RegExp(`(\\sid=")${escaped}(")`, 'g'), `$1${prefix}-${id}$2`)
      .replace(new RegExp(`url\\(#${escaped}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`(href=")#${escaped}(")`, 'g'), `$1#${prefix}-${id}$2`);
  }
  return out;
}

/** An SVG document reduced to its <svg> element, for inlining into HTML (drops the XML prolog, doctype and comments before it). */
export function svgElement(svg: string, where: string): string {
  const start = svg.search(/<svg[\s>]/);
  const end = svg.lastIndexOf('</svg>');
  if (start < 0 || end < start) throw new UserError(`${where} holds no <svg> element; expected an SVG image.`);
  return svg.slice(start, end + '</svg>'.length);
}
