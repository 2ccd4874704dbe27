/**
 * Throwaway X.509 material generated at test time with the openssl CLI (never committed):
 * a CA, a server certificate (CN/SAN localhost + 127.0.0.1) and a client certificate signed by it,
 * and a second unrelated CA for the wrong-chain case. Validity defaults to 2 days; `days` sets the
 * CA's and the client certificate's (the certificate expiry tests), `dir` where it is written.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCerts {
  dir: string;
  caPath: string;
  caKeyPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  /** An unrelated CA: trusting it instead of `caPath` must fail the handshake. */
  otherCaPath: string;
  /** A client certificate signed by the unrelated CA: the server must refuse it. */
  rogueClientCertPath: string;
  rogueClientKeyPath: string;
  read(p: string): Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

interface TestCertOptions {
  ca?: number;
  client?: number;
  /** Where to write the material (created if missing); a fresh temp directory otherwise. */
  dir?: string;
}

function makeCa(dir: string, name: string, days = 2): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', String(days), '-subj', `/CN=${name} Test CA`], dir);
}

function makeLeaf(dir: string, ca: string, name: string, cn: string, days = 2): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', 'ext.cnf'],
    dir,
  );
}

export function generateTestCerts(days: TestCertOptions = {}): TestCerts {
  const dir = days.dir ?? mkdtempSync(path.join(os.tmpdir(), 'devo-certs-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  makeCa(dir, 'ca', days.ca);
  makeCa(dir, 'other');
  makeLeaf(dir, 'ca', 'server', 'localhost');
  makeLeaf(dir, 'ca', 'client', 'devo-test-client', days.client);
  makeLeaf(dir, 'other', 'rogue', 'rogue-client');
  const p = (f: string): string => path.join(dir, f);
  return {
    dir,
    caPath: p('ca.pem'),
    caKeyPath: p('ca.key'),
    serverCertPath: p('server.pem'),
    serverKeyPath: p('server.key'),
    clientCertPath: p('client.pem'),
    clientKeyPath: p('client.key'),
    otherCaPath: p('other.pem'),
    rogueClientCertPath: p('rogue.pem'),
    rogueClientKeyPath: p('rogue.key'),
    read: (f) => readFileSync(f),
  };
}
