/** Devo certificate expiry: reading the files, the WARNING under 30 days (daily), the error ids. */
import { readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateExpiryMonitor, certificateTargets, expiryWarningLine, readCertificateExpiry } from '../src/cert-expiry.js';
import { generateTestCerts, type TestCerts, outputConfig } from '@devo-collector/testkit';
import { captureLogs } from './helpers/log-capture.js';

const DAY = 86_400_000;
let soon: TestCerts; // client certificate: 10 days, CA: 400 days
let later: TestCerts; // client and CA: 2 days (the helper's default)
let logs: ReturnType<typeof captureLogs> | undefined;

const notAfter = (p: string): number => Date.parse(new X509Certificate(readFileSync(p)).validTo);

beforeAll(() => {
  soon = generateTestCerts({ client: 10, ca: 400 });
  later = generateTestCerts();
});
afterEach(() => {
  logs?.stop();
  logs = undefined;
});

function devo(certs: TestCerts, over = {}) {
  return outputConfig({ name: 'devo_1', chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath, ...over });
}

describe('certificate expiry', () => {
  it('targets: chain and cert of TLS outputs only, never the key', () => {
    const targets = certificateTargets([
      devo(soon),
      outputConfig({ name: 'relay_plain', type: 'relay', chainPath: null, certPath: null, keyPath: null }),
      outputConfig({ name: 'console_1', type: 'console' }),
    ]);
    expect(targets).toEqual([
      { output: 'devo_1', certificate: 'chain', path: soon.caPath },
      { output: 'devo_1', certificate: 'cert', path: soon.clientCertPath },
    ]);
    expect(JSON.stringify(targets)).not.toContain('.key');
  });

  it('reads notAfter from PEM and DER; a chain file with several certificates reports the earliest', () => {
    const cert = readCertificateExpiry({ output: 'devo_1', certificate: 'cert', path: soon.clientCertPath });
    expect(cert).toMatchObject({ certificates: 1, subject: 'CN=devo-test-client', notAfterMs: notAfter(soon.clientCertPath) });
    expect(Math.abs(cert.notAfterMs - (Date.now() + 10 * DAY))).toBeLessThan(120_000);

    const bundle = path.join(soon.dir, 'bundle.pem');
    writeFileSync(bundle, Buffer.concat([readFileSync(soon.caPath), readFileSync(later.caPath)]));
    const chain = readCertificateExpiry({ output: 'devo_1', certificate: 'chain', path: bundle });
    expect(chain).toMatchObject({ certificates: 2, subject: 'CN=ca Test CA', notAfterMs: notAfter(later.caPath) });
    expect(notAfter(later.caPath)).toBeLessThan(notAfter(soon.caPath));

    const der = path.join(soon.dir, 'client.der');
    writeFileSync(der, new X509Certificate(readFileSync(soon.clientCertPath)).raw);
    expect(readCertificateExpiry({ output: 'devo_1', certificate: 'cert', path: der }).notAfterMs).toBe(cert.notAfterMs);
  });

  it('OutputError(420) for a file that cannot be read, 421 for one with no certificate; paths only', () => {
    const missing = path.join(soon.dir, 'nope.crt');
    expect(() => readCertificateExpiry({ output: 'devo_1', certificate: 'chain', path: missing })).toThrow(
      expect.objectContaining({ code: 420, detail: `outputs.devo_1: the chain file "${missing}" cannot be read for the expiry check (ENOENT)` }),
    );
    // A key pasted where the certificate belongs: 421, and the message never echoes the content.
    const wrong = path.join(soon.dir, 'wrong.crt');
    writeFileSync(wrong, readFileSync(soon.clientKeyPath));
    let err: unknown;
    try {
      readCertificateExpiry({ output: 'devo_1', certificate: 'cert', path: wrong });
    } catch (e) {
      err = e;
    }
    expect(String(err)).toBe(`OutputError(421): outputs.devo_1: the certificate file "${wrong}" holds no X.509 certificate that can be parsed (PEM or DER expected)`);
  });

  it('warning line: file, subject, whole days left, the date', () => {
    const e = { output: 'devo_1', certificate: 'cert' as const, path: '/c/client.crt', subject: 'CN=x', certificates: 1, notAfterMs: Date.UTC(2026, 11, 11, 8, 41, 16) };
    expect(expiryWarningLine(e, e.notAfterMs - 9.5 * DAY)).toBe(
      'outputs.devo_1: the certificate file "/c/client.crt" (CN=x) expires in 9 days, on 2026-12-11T08:41:16Z; renew it before then',
    );
    expect(expiryWarningLine({ ...e, certificate: 'chain', certificates: 3 }, e.notAfterMs + 2 * DAY)).toBe(
      'outputs.devo_1: the chain file "/c/client.crt" (CN=x, the earliest of 3 in it) expired 2 days ago, on 2026-12-11T08:41:16Z; renew it before then',
    );
  });

  it('monitor: WARNING under 30 days at start and again a day later, not in between; errors once per change and daily; never throws', () => {
    logs = captureLogs();
    let now = Date.now();
    const missing = path.join(soon.dir, 'gone.crt');
    const m = new CertificateExpiryMonitor({ outputs: [devo(soon), devo(later, { name: 'devo_2', chainPath: missing })], now: () => now });
    m.check();
    const warnings = () => logs!.records.filter((r) => r.level === 'warn').map((r) => r.message);
    const errors = () => logs!.records.filter((r) => r.level === 'error').map((r) => r.message);
    // soon: cert 10 days (warned), chain 400 days (not); later: cert 2 days (warned), chain missing (error).
    expect(warnings()).toEqual([
      expect.stringMatching(new RegExp(`^outputs\\.devo_1: the certificate file "${soon.clientCertPath}" \\(CN=devo-test-client\\) expires in (9|10) days, on `)),
      expect.stringMatching(new RegExp(`^outputs\\.devo_2: the certificate file "${later.clientCertPath}" \\(CN=devo-test-client\\) expires in [12] days, on `)),
    ]);
    expect(errors()).toEqual([`OutputError(420): outputs.devo_2: the chain file "${missing}" cannot be read for the expiry check (ENOENT)`]);
    expect(m.entries().map((e) => `${e.output}/${e.certificate}`)).toEqual(['devo_1/chain', 'devo_1/cert', 'devo_2/cert']);

    now += 3_600_000; // an hour later: re-read, nothing repeated
    m.check();
    expect(warnings()).toHaveLength(2);
    expect(errors()).toHaveLength(1);

    writeFileSync(missing, 'not a certificate'); // the problem changes: logged at once
    now += 3_600_000;
    m.check();
    expect(errors()).toHaveLength(2);
    expect(errors()[1]).toContain('OutputError(421)');

    now += DAY; // a day after the last report: everything again
    m.check();
    expect(warnings()).toHaveLength(4);
    expect(errors()).toHaveLength(3);
  });

  it('monitor: a renewed certificate shows at the next read, without a restart', () => {
    const certs = generateTestCerts({ client: 10, ca: 400 });
    logs = captureLogs();
    const m = new CertificateExpiryMonitor({ outputs: [devo(certs)] });
    m.check();
    const before = m.entries().find((e) => e.certificate === 'cert')!.notAfterMs;
    writeFileSync(certs.clientCertPath, readFileSync(soon.caPath)); // a 400-day certificate
    m.check();
    expect(m.entries().find((e) => e.certificate === 'cert')!.notAfterMs - before).toBeGreaterThan(300 * DAY);
  });
});
