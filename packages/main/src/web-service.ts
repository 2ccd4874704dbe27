/**
 * Web service in MainProcess: /health (liveness: the process is alive), /ready (readiness.ts: every
 * enabled service and every output ok, else 503 with the reasons and their ids),
 * /metrics (Prometheus text). Read-only; no secrets are reachable from here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@devo-collector/common';
import type { CollectorMetrics } from './metrics.js';

interface ReadinessSource {
  readiness(): { ready: boolean; details: Record<string, unknown> };
}

export interface WebService {
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebService(opts: {
  host: string;
  port: number;
  metrics: CollectorMetrics;
  source: ReadinessSource;
  beforeScrape?: () => void;
}): Promise<WebService> {
  const log = createLogger('WebServiceThread');
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', pid: process.pid }));
    } else if (url === '/ready') {
      const r = opts.source.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: r.ready ? 'ready' : 'not-ready', ...r.details }));
    } else if (url === '/metrics') {
      opts.beforeScrape?.();
      opts.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info(`Starting WebServiceThread, ip-port: ${opts.host}:${port}`);
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
