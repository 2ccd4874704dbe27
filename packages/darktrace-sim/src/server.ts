/**
 * The simulator's HTTP server: authentication, permissions, faults, latency and the request log
 * around the pure data routes. A real node:http server, so clients are tested over real sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { createAiSource } from './ai-events.js';
import { createAntigenaSource, renderAntigena } from './antigena.js';
import { authenticate } from './auth.js';
import { createBreachSource, renderBreach } from './breaches.js';
import { createDeviceSource } from './devices.js';
import { BAD_GATEWAY_HTML, createFaultQueue, LOGIN_PAGE_HTML } from './faults.js';
import { HOUR_MS } from './hourly-store.js';
import { route, type Sources } from './routes.js';
import type { RequestLogEntry, SimOrder, SimRecord, SimService, Simulator, SimulatorOptions } from './types.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const baseClock = opts.nowMs ?? Date.now;
  let clock: () => number = baseClock;
  let latencyMs = opts.latencyMs ?? 0;
  let how: SimOrder = opts.order ?? 'newest-first';
  const seed = opts.seed ?? 1;
  const dataStartMs = opts.dataStartMs ?? clock() - 7 * 24 * HOUR_MS;
  const sources: Sources = {
    seed,
    breaches: createBreachSource({ seed, dataStartMs, perHour: opts.modelBreachesPerHour ?? 2, lateCreatedShare: opts.lateCreatedShare ?? 0.1 }),
    ai: createAiSource({ seed, dataStartMs, perHour: opts.aiEventsPerHour ?? 1, pinned: opts.pinnedAiEvents ?? 2 }),
    antigena: createAntigenaSource({ seed, dataStartMs, perHour: opts.antigenaPerHour ?? 1 }),
    devices: createDeviceSource({ seed, dataStartMs, count: opts.devices ?? 40 }),
    unifiedView: opts.unifiedView ?? false,
  };
  const tokens = { publicToken: opts.publicToken, privateToken: opts.privateToken };
  const faults = createFaultQueue();
  const log: RequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  let requestNo = 0;

  function send(res: ServerResponse, entry: RequestLogEntry, status: number, body: string | Buffer, headers: Record<string, string | number>): void {
    entry.status = status;
    // Encoded once: a window's body can be 15 MB, and byteLength + end(string) would scan it twice.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const write = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'Content-Length': bytes.length, ...headers });
      res.end(bytes);
    };
    if (latencyMs > 0) setTimeout(write, latencyMs);
    else write();
  }
  const sendJson = (res: ServerResponse, entry: RequestLogEntry, status: number, body: unknown) =>
    send(res, entry, status, JSON.stringify(body), { 'Content-Type': JSON_TYPE });
  const redirect = (res: ServerResponse, entry: RequestLogEntry, to: string) =>
    send(res, entry, 302, `Found. Redirecting to ${to}`, { Location: to, 'Content-Type': 'text/plain; charset=utf-8' });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const raw = req.url ?? '/';
    const url = new URL(raw, 'http://sim');
    const now = clock();
    const entry: RequestLogEntry = { path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, timeMs: now };
    log.push(entry);

    // Verified over `raw` (the bytes received) and its decoded form (auth.ts), never over `url`'s re-encoding.
    const auth = authenticate(raw, req.headers, tokens, now);
    if (!auth.ok) return sendJson(res, entry, 400, { response: auth.response });
    if (opts.permissions?.[url.pathname] === false) return redirect(res, entry, '/403');

    const fault = faults.take(url.pathname);
    if (fault) {
      switch (fault.kind) {
        case '500':
          return send(res, entry, 500, 'Internal Server Error', { 'Content-Type': 'text/html; charset=utf-8' });
        case '502-html':
          return send(res, entry, 502, BAD_GATEWAY_HTML, { 'Content-Type': 'text/html' });
        case '429':
          return send(res, entry, 429, JSON.stringify({ response: 'Too Many Requests' }), {
            'Content-Type': JSON_TYPE,
            'Retry-After': fault.retryAfterSec,
          });
        case 'html-login-200':
          return send(res, entry, 200, LOGIN_PAGE_HTML, { 'Content-Type': 'text/html; charset=utf-8' });
        case 'hang':
          return; // never answered; the socket is destroyed on close()
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'truncated-json':
          break; // handled below, once the real body exists
      }
    }
    if (req.method !== 'GET') return redirect(res, entry, '/login');
    const result = route(url.pathname, entry.query, now, sources, how, ++requestNo);
    if (!result) return redirect(res, entry, '/login'); // valid HMAC, unknown endpoint
    if (fault?.kind === 'truncated-json') {
      // A body cut mid-way, with a Content-Length matching what is sent (as a proxy would cut it).
      const full = typeof result.json === 'string' ? result.json : result.json.toString('utf8');
      return send(res, entry, result.status, full.slice(0, Math.max(1, Math.floor(full.length / 2))), { 'Content-Type': JSON_TYPE });
    }
    return send(res, entry, result.status, result.json, { 'Content-Type': JSON_TYPE });
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(req, res);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': JSON_TYPE }).end(JSON.stringify({ error: String(err) }));
    }
  };
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createServer(onRequest);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('simulator: no TCP address');
  const host = opts.host ?? '127.0.0.1';
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;

  return {
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${address.port}`,
    port: address.port,
    injectFault: (f) => faults.add(f),
    addModelBreach: (partial?: SimRecord) => renderBreach(sources.breaches.add(partial, clock()), { historicModelOnly: false }),
    addAiEvent: (partial?: SimRecord) => sources.ai.render(sources.ai.add(partial, clock())),
    addAntigenaAction: (partial?: SimRecord) => renderAntigena(sources.antigena.add(partial, clock()), clock(), false),
    expectedIds: (service: SimService, uptoMs?: number) => expectedIds(sources, service, dataStartMs, Math.min(uptoMs ?? clock(), clock())),
    deviceInventory: (atMs?: number) => sources.devices.all(atMs ?? clock(), true),
    requestLog: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    setNow: (n) => {
      clock = n === null ? baseClock : typeof n === 'number' ? () => n : n;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setTokens: (t) => {
      tokens.publicToken = t.publicToken;
      tokens.privateToken = t.privateToken;
    },
    setOrder: (o) => {
      how = o;
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}

/** Ids a correct collector must eventually deliver: created (breach), createdAt (AI), start (RESPOND) <= upto. */
function expectedIds(s: Sources, service: SimService, dataStartMs: number, upto: number): string[] {
  switch (service) {
    case 'modelbreaches':
      return s.breaches.query('creationTime', dataStartMs, upto, upto).map((r) => String(r.pbid));
    case 'aianalyst_incidentevents':
      return s.ai.all(upto).map((r) => r.id);
    case 'antigena':
      return s.antigena.query({ fromMs: dataStartMs, toMs: upto, includeCleared: true }, upto).map((r) => String(r.codeid));
  }
}
