/**
 * The Devo X.509 material: chain (CA that signs the server), client certificate and key. Read at
 * init (a missing or unreadable file fails init with OutputError 400) and again at every connect,
 * so replacing chain.crt is picked up without a restart. Error messages name paths, never contents.
 */
import { readFileSync } from 'node:fs';
import { OutputError, registerSecret } from '@devo-collector/common';
import { OUTPUT_ERROR } from '../errors.js';

export interface TlsMaterialPaths {
  chainPath: string | null;
  certPath: string | null;
  keyPath: string | null;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function loadTlsMaterial(output: string, p: TlsMaterialPaths): TlsMaterial {
  const read = (what: string, file: string | null): Buffer => {
    if (!file) throw new OutputError(OUTPUT_ERROR.tlsMaterial, `outputs.${output}: the ${what} file is required for TLS`);
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new OutputError(OUTPUT_ERROR.tlsMaterial, `outputs.${output}: cannot read the ${what} file "${file}" (${code})`);
    }
  };
  const material = { ca: read('chain', p.chainPath), cert: read('certificate', p.certPath), key: read('key', p.keyPath) };
  // Belt and braces: the key text must never reach a log line even if some error echoes it.
  registerSecret(material.key.toString('utf8').trim());
  return material;
}
