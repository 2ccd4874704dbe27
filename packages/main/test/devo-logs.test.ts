/**
 * The vendor's start and sender lines and the certificate expiry watch, against the real collector
 * (dist/main.js) sending to a real mutual-TLS receiver, with a client certificate that expires in
 * 10 days: "Created a sender" names the files (never their contents), a WARNING names the file and
 * the days left, /metrics has certificate_expiry_seconds, and the workers run with --expose-gc.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { generateTestCerts, type TestCerts, startTlsReceiver, type TlsReceiver } from '@devo-collector/testkit';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, workerPid, writeConfig } from './helpers/collector.js';

let sim: Simulator;
let certs: TestCerts;
let receiver: TlsReceiver;
beforeAll(async () => {
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 3, modelBreachesPerHour: 5 });
  certs = generateTestCerts({ client: 10, ca: 400 });
  receiver = await startTlsReceiver(certs);
});
afterAll(async () => {
  await sim.close();
  await receiver.stop();
});

const notAfterMs = (p: string): number => Date.parse(new X509Certificate(readFileSync(p)).validTo);
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('vendor log lines and certificate expiry, end to end', () => {
  it('logs the start lines, Created a sender with the paths, the expiry WARNING; exports certificate_expiry_seconds', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
    cfg.outputs = {
      devo_1: {
        type: 'devo_platform',
        config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath },
      },
    };
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    try {
      const web = await c.waitFor(/Starting WebServiceThread, ip-port: 127\.0\.0\.1:(\d+)/);
      const base = `http://127.0.0.1:${/:(\d+)$/.exec(web)![1]}`;

      // The expiry WARNING at start: the file, the subject and the whole days left (9 or 10 by now).
      const warning = await c.waitFor(/WARNING MainProcess::CertificateExpiryMonitor -> /);
      expect(warning).toMatch(
        new RegExp(
          `WARNING MainProcess::CertificateExpiryMonitor -> outputs\\.devo_1: the certificate file "${certs.clientCertPath}" \\(CN=devo-test-client\\) expires in (9|10) days, on \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; renew it before then$`,
        ),
      );

      // Each group's sender announces its connection as the vendor does: paths, never contents.
      const created = await c.waitFor(/OutputProcess::DevoSender\(standard_senders,devo_sender_0\) -> Created a sender: /, 40_000);
      expect(created.slice(24)).toMatch(
        new RegExp(
          String.raw`^   INFO OutputProcess::DevoSender\(standard_senders,devo_sender_0\) -> Created a sender: \{"name": "DevoSender\(standard_senders,devo_sender_0\)", "url": "127\.0\.0\.1:${receiver.port}", "chain_path": "${certs.caPath}", "cert_path": "${certs.clientCertPath}", "key_path": "${certs.clientKeyPath}", "transport_layer_type": "SSL", "last_usage_timestamp": null, "socket_status": null\}, hostname: "[^"]+", session_id: "\d+"$`,
        ),
      );
      await receiver.waitFor((t) => t.includes(' edr.darktrace.respond.model_breach: '), 40_000);
      // The WARNING also reached Devo, through the internal senders.
      await receiver.waitFor((t) => /devo\.collectors\.out\.local\.warning: \{"msg":"CertificateExpiryMonitor -> outputs\.devo_1: the certificate file /.test(t), 20_000);

      // certificate_expiry_seconds: within a minute of what the files say.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const gauge = (certificate: string, file: string): number => {
        const m = new RegExp(`^certificate_expiry_seconds\\{output="devo_1",certificate="${certificate}",path="${file}"\\} (-?\\d+)$`, 'm').exec(metrics);
        return m ? Number(m[1]) : Number.NaN;
      };
      const now = Date.now();
      expect(Math.abs(gauge('cert', certs.clientCertPath) - (notAfterMs(certs.clientCertPath) - now) / 1000)).toBeLessThan(60);
      expect(Math.abs(gauge('chain', certs.caPath) - (notAfterMs(certs.caPath) - now) / 1000)).toBeLessThan(60);
      expect(gauge('cert', certs.clientCertPath)).toBeLessThan(10 * 86_400 + 60);
      expect(metrics).not.toContain('.key');

      // The start lines, from each process's starting thread.
      const out = c.output();
      expect(out).toMatch(/ INFO MainProcess::MainThread -> OutputProcess - Starting thread \(executing_period=300s\)\n/);
      expect(out).toMatch(/ INFO MainProcess::MainThread -> InputProcess - Starting thread \(executing_period=300s\)\n/);
      expect(out).toContain('INFO InputProcess::MainThread -> CollectorDarktracePullerSetup(darktrace#10001,summarystatistics#predefined) -> Starting thread');
      expect(out).toContain('INFO InputProcess::MainThread -> StatelessServicePuller(darktrace#10001,summarystatistics#predefined) - Starting thread');
      expect(out).toContain('INFO InputProcess::MainThread -> CollectorDarktracePuller(darktrace#10001,modelbreaches#predefined) - Starting thread');
      expect(out).toContain('INFO InputProcess::MainThread -> InputMetricsThread -> Started thread for updating metrics values (update_period=5.0)');
      expect(out).toContain('INFO OutputProcess::MainThread -> OutputMetricsThread -> Started thread for updating metrics values (update_period=5.0)');
      for (const g of ['standard_senders', 'lookup_senders', 'internal_senders']) {
        expect(out).toContain(`INFO OutputProcess::MainThread -> DevoSender(${g},devo_sender_0) -> Starting thread`);
        expect(out).toContain(`INFO OutputProcess::MainThread -> DevoSenderManagerMonitor(${g},devo_1) -> Starting thread (every 60 seconds)`);
        expect(out).toContain(`INFO OutputProcess::MainThread -> DevoSenderManager(${g},manager,devo_1) -> Starting thread`);
      }

      // The key's contents appear nowhere: not in our log, not in what reached the receiver.
      const keyLines = readFileSync(certs.clientKeyPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
      expect(keyLines.length).toBeGreaterThan(5);
      for (const l of keyLines) {
        expect(out).not.toContain(l);
        expect(receiver.text()).not.toContain(l);
      }

      // The workers run with --expose-gc, so their [GC] lines follow a real collection.
      for (const p of ['InputProcess', 'OutputProcess'] as const) {
        const pid = workerPid(c.lines, p);
        expect(pid, p).not.toBeNull();
        expect(cmdline(pid!), p).toContain('--expose-gc');
      }
      expect(cmdline(c.proc.pid!)).not.toContain('--expose-gc');
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
    }
  });

  it('a chain file that is not a certificate: OutputError(421) from the expiry check, the collector keeps running', async () => {
    const dir = makeWorkspace();
    // The configuration only checks that the file can be read; what is in it shows later.
    const chain = path.join(dir, 'certs', 'chain.crt');
    writeFileSync(chain, 'this is not a certificate\n');
    const cfg = baseConfig(sim.url);
    cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
    cfg.outputs = {
      devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: receiver.port, chain, cert: certs.clientCertPath, key: certs.clientKeyPath } },
    };
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    try {
      const line = await c.waitFor(/MainProcess::CertificateExpiryMonitor -> OutputError\(421\)/, 20_000);
      expect(line).toMatch(
        new RegExp(`ERROR MainProcess::CertificateExpiryMonitor -> OutputError\\(421\\): outputs\\.devo_1: the chain file "${chain}" holds no X\\.509 certificate that can be parsed \\(PEM or DER expected\\)$`),
      );
      const web = await c.waitFor(/Starting WebServiceThread, ip-port: 127\.0\.0\.1:(\d+)/);
      const base = `http://127.0.0.1:${/:(\d+)$/.exec(web)![1]}`;
      await c.waitFor(/Started all objects from "MainProcess" process/, 20_000);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      // The unreadable chain has no series; the readable client certificate has its own.
      expect(metrics).not.toContain('certificate="chain"');
      expect(metrics).toMatch(/^certificate_expiry_seconds\{output="devo_1",certificate="cert",path="[^"]+"\} \d+$/m);
      expect(c.proc.exitCode).toBeNull();
      expect(c.output()).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
    }
  });

  it('--validate warns about the expiring certificate too', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.outputs = {
      devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } },
    };
    writeConfig(dir, cfg);
    const c = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await c.exit).code).toBe(0);
    expect(c.output()).toMatch(new RegExp(`WARNING MainProcess::CertificateExpiryMonitor -> outputs\\.devo_1: the certificate file "${certs.clientCertPath}" \\(CN=devo-test-client\\) expires in (9|10) days`));
  });
});
