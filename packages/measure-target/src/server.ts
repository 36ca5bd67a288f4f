import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves folders read-only on 127.0.0.1 at an ephemeral port: `mounts` maps a URL prefix such as
 * `/` or `/model/` to a folder. Nothing outside a mounted folder is reachable (no `..`, no listing).
 */
export async function serveFolders(mounts: Record<string, string>): Promise<StaticServer> {
  // Longest prefix first, so /model/ wins over /.
  const routes = Object.entries(mounts).sort(([a], [b]) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = requestPath(req.url);
    const route = path === undefined ? undefined : routes.find(([prefix]) => path.startsWith(prefix));
    const file = route ? resolveInside(route[1], path!.slice(route[0].length) || 'index.html') : undefined;
    if (!file || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    stat(file).then(
      (s) => {
        if (!s.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': s.size, 'cache-control': 'no-store' });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => closeServer(server) };
}

/** The decoded path of a request URL; undefined for one that does not decode. */
function requestPath(url: string | undefined): string | undefined {
  try {
    return decodeURIComponent(new URL(url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    return undefined;
  }
}

function resolveInside(dir: string, relativePath: string): string | undefined {
  const root = normalize(dir + sep);
  const file = normalize(join(root, relativePath));
  return file.startsWith(root) ? file : undefined;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
