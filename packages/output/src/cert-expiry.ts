/**
 * When do the configured Devo certificates expire? Reads each TLS output's chain and client
 * certificate (never the key) with node's X509Certificate. A file holding several certificates (a
 * chain with intermediates, a client certificate followed by its issuers) counts as its earliest
 * expiry: the handshake fails as soon as any certificate in it has expired.
 *
 * The monitor re-reads the files every hour (so a renewed certificate shows within the hour,
 * without a restart), logs a WARNING per certificate under 30 days at start and then once a day,
 * and a file it cannot read or parse as an ERROR with its OutputError id (420, 421) at start, once
 * a day, and whenever the problem appears or changes; it never throws.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { OutputError, createLogger, type Logger, type OutputConfig } from '@devo-collector/common';
import { OUTPUT_ERROR } from './errors.js';
import { usesTls } from './sender-manager.js';

export type CertificateKind = 'chain' | 'cert';

export interface CertificateTarget {
  output: string;
  certificate: CertificateKind;
  path: string;
}

export interface CertificateExpiry extends CertificateTarget {
  /** The earliest `notAfter` of the certificates in the file (epoch ms). */
  notAfterMs: number;
  /** Subject of that certificate, for the warning. */
  subject: string;
  /** How many certificates the file holds. */
  certificates: number;
}

const DAY_MS = 86_400_000;
const WHAT: Record<CertificateKind, string> = { chain: 'chain', cert: 'certificate' };

/** The chain and client certificate of every output that speaks TLS, as configured (absolute paths). */
export function certificateTargets(outputs: readonly OutputConfig[]): CertificateTarget[] {
  const out: CertificateTarget[] = [];
  for (const o of outputs) {
    if (!usesTls(o)) continue;
    if (o.chainPath) out.push({ output: o.name, certificate: 'chain', path: o.chainPath });
    if (o.certPath) out.push({ output: o.name, certificate: 'cert', path: o.certPath });
  }
  return out;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Throws OutputError 420 (cannot read) or 421 (no certificate in it); messages name the path only. */
export function readCertificateExpiry(t: CertificateTarget): CertificateExpiry {
  const where = `outputs.${t.output}: the ${WHAT[t.certificate]} file "${t.path}"`;
  let data: Buffer;
  try {
    data = readFileSync(t.path);
  } catch (err) {
    throw new OutputError(OUTPUT_ERROR.certificateRead, `${where} cannot be read for the expiry check (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
  const blocks = data.toString('latin1').match(PEM_BLOCK) ?? [];
  const certs: X509Certificate[] = [];
  try {
    // No PEM armour: a single DER certificate.
    for (const b of blocks.length > 0 ? blocks : [data]) certs.push(new X509Certificate(b));
  } catch {
    certs.length = 0;
  }
  const dated = certs.map((c) => ({ c, ms: Date.parse(c.validTo) })).filter((x) => Number.isFinite(x.ms));
  if (dated.length === 0 || dated.length !== certs.length) {
    throw new OutputError(OUTPUT_ERROR.certificateParse, `${where} holds no X.509 certificate that can be parsed (PEM or DER expected)`);
  }
  const first = dated.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { ...t, notAfterMs: first.ms, subject: first.c.subject.replaceAll('\n', ', '), certificates: dated.length };
}

/** `outputs.devo_1: the certificate file "/certs/client.crt" (CN=x) expires in 9 days, on 2026-12-11T08:41:16Z` */
export function expiryWarningLine(e: CertificateExpiry, nowMs: number): string {
  const leftMs = e.notAfterMs - nowMs;
  const on = `${new Date(e.notAfterMs).toISOString().slice(0, 19)}Z`;
  const which = e.certificates > 1 ? `${e.subject}, the earliest of ${e.certificates} in it` : e.subject;
  const when = leftMs <= 0 ? `expired ${Math.floor(-leftMs / DAY_MS)} days ago, on ${on}` : `expires in ${Math.floor(leftMs / DAY_MS)} days, on ${on}`;
  return `outputs.${e.output}: the ${WHAT[e.certificate]} file "${e.path}" (${which}) ${when}; renew it before then`;
}

export interface CertificateExpiryMonitorOptions {
  outputs: readonly OutputConfig[];
  logger?: Logger;
  /** A certificate closer than this to its expiry is warned about (default 30 days). */
  warnBelowMs?: number;
  /** How often the files are re-read (default 1 hour). */
  refreshMs?: number;
  /** How often the warnings and errors are repeated (default 1 day). */
  repeatMs?: number;
  now?: () => number;
}

export class CertificateExpiryMonitor {
  private readonly targets: CertificateTarget[];
  private readonly log: Logger;
  private readonly now: () => number;
  private known = new Map<string, CertificateExpiry>();
  private failures = new Map<string, string>();
  private lastReportMs: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: CertificateExpiryMonitorOptions) {
    this.targets = certificateTargets(o.outputs);
    this.log = o.logger ?? createLogger('CertificateExpiryMonitor');
    this.now = o.now ?? Date.now;
  }

  /** The certificates read at the last check (those that could be read). */
  entries(): CertificateExpiry[] {
    return [...this.known.values()];
  }

  /** Re-reads every file; logs the warnings and errors when they are due. */
  check(): void {
    const now = this.now();
    const repeat = this.lastReportMs === null || now - this.lastReportMs >= (this.o.repeatMs ?? DAY_MS);
    if (repeat) this.lastReportMs = now;
    const known = new Map<string, CertificateExpiry>();
    const failures = new Map<string, string>();
    for (const t of this.targets) {
      const key = `${t.output}\u0000${t.certificate}\u0000${t.path}`;
      try {
        const e = readCertificateExpiry(t);
        known.set(key, e);
        if (repeat && e.notAfterMs - now < (this.o.warnBelowMs ?? 30 * DAY_MS)) this.log.warn(expiryWarningLine(e, now));
      } catch (err) {
        const line = err instanceof OutputError ? err.toString() : String(err);
        failures.set(key, line);
        if (repeat || this.failures.get(key) !== line) this.log.error(line);
      }
    }
    this.known = known;
    this.failures = failures;
  }

  /** Checks now, then every `refreshMs`; the timer never keeps the process alive. Returns a stop function. */
  start(): () => void {
    this.check();
    if (this.targets.length > 0) {
      this.timer = setInterval(() => this.check(), this.o.refreshMs ?? 3_600_000);
      this.timer.unref();
    }
    return () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    };
  }
}
