/**
 * The director's optional HTTP listener for Prometheus (`--metrics HOST:PORT`): GET or HEAD of
 * /metrics answers the text exposition page (gzip-compressed when the scraper accepts it, as
 * Prometheus does); any other path is 404, any other method on /metrics 405. The page is built
 * when asked for, between engine batches, from the live state.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { TEXT_CONTENT_TYPE } from '../prometheus';
import type { Logger } from './logger';

export const METRICS_PATH = '/metrics';

export interface ListenAddress {
  /** Host to bind ('' = every address, as node_exporter's ":9100"). */
  host: string;
  port: number;
}

export class ListenAddressError extends Error {}

/**
 * Parses HOST:PORT, [IPV6]:PORT or :PORT (every address). Port 0 takes a free port (the log
 * line "metrics listening" names it).
 */
export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string): ListenAddressError =>
    new ListenAddressError(`bad listen address '${text}': ${why} (expected HOST:PORT, [IPv6]:PORT or :PORT)`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('an IPv6 address in brackets must be followed by :PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (host === '') throw bad('empty IPv6 address');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('no port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('an IPv6 address must be in brackets');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad(`port '${portText}' is not a number from 0 to 65535`);
  return { host, port: Number(portText) };
}

/** HOST:PORT as a URL authority shows it. */
export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface MetricsServerOptions {
  listen: ListenAddress;
  /** Builds the page (called once per scrape). */
  page: () => string;
  logger: Logger;
}

export class MetricsServerError extends Error {}

export class MetricsServer {
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    /** Where it listens (the real port when 0 was asked for). */
    readonly address: ListenAddress,
  ) {}

  static async listen(opts: MetricsServerOptions): Promise<MetricsServer> {
    const server = http.createServer((req, res) => serve(req, res, opts));
    // A scrape is one short request; idle keep-alive sockets must not hold the director open.
    server.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const onListening = (): void => {
          server.off('error', reject);
          resolve();
        };
        if (opts.listen.host === '') server.listen(opts.listen.port, onListening);
        else server.listen(opts.listen.port, opts.listen.host, onListening);
      });
    } catch (e) {
      throw new MetricsServerError(`cannot listen for metrics on ${formatListenAddress(opts.listen)}: ${(e as Error).message}`);
    }
    server.on('error', (e) => opts.logger.log('error', 'metrics listener error', { error: e.message }));
    const a = server.address() as AddressInfo;
    return new MetricsServer(server, { host: opts.listen.host === '' ? '' : a.address, port: a.port });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await done;
  }
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, opts: MetricsServerOptions): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== METRICS_PATH) {
    answer(res, 404, '404 page not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    answer(res, 405, `method ${req.method ?? ''} not allowed\n`);
    return;
  }
  let page: string;
  try {
    page = opts.page();
  } catch (e) {
    opts.logger.log('error', 'cannot build the metrics page', { error: (e as Error).stack ?? String(e) });
    answer(res, 500, `cannot build the metrics page: ${(e as Error).message}\n`);
    return;
  }
  let body = Buffer.from(page, 'utf8');
  res.statusCode = 200;
  res.setHeader('Content-Type', TEXT_CONTENT_TYPE);
  if (acceptsGzip(req.headers['accept-encoding'])) {
    body = zlib.gzipSync(body);
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function answer(res: http.ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  return text.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding.trim().toLowerCase() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
