/**
 * A real rsyslog (imtcp + gtls stream driver, mutual TLS, x509/certvalid) writing every received
 * message (%rawmsg%) to a file. Config, work directory, pid file and output live in a tmp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, until, type TestCerts } from '@devo-collector/testkit';

const RSYSLOGD = '/usr/sbin/rsyslogd';
export const rsyslogAvailable = (): boolean => existsSync(RSYSLOGD);

export interface Rsyslog {
  port: number;
  outFile: string;
  lines(): string[];
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}


async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const probe = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
  await until(probe, timeoutMs, `rsyslogd listening on ${port}`);
}

export async function startRsyslog(certs: TestCerts): Promise<Rsyslog> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsyslog-'));
  const port = await freePort();
  const outFile = path.join(dir, 'received.log');
  const conf = `
global(workDirectory="${dir}"
       maxMessageSize="4m"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="${certs.caPath}"
       defaultNetstreamDriverCertFile="${certs.serverCertPath}"
       defaultNetstreamDriverKeyFile="${certs.serverKeyPath}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="${port}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\\n")
*.* action(type="omfile" file="${outFile}" template="raw")
`;
  writeFileSync(path.join(dir, 'rsyslog.conf'), conf);
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitListening(port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  const lines = (): string[] => (existsSync(outFile) ? readFileSync(outFile, 'utf8').split('\n').filter((l) => l.length > 0) : []);
  return {
    port,
    outFile,
    lines,
    waitForLines: (n, timeoutMs = 20_000) =>
      until(() => lines().length >= n && lines(), timeoutMs, `${n} rsyslog lines`, () => `got ${lines().length}`, 50),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
