/**
 * `${NAME}` environment references in config values (how Kubernetes Secrets reach the tokens:
 * deploy/kubernetes/base). The positive path end to end is test/deploy/kube-play.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@devo-collector/common';
import { expandEnvReferences } from '../src/config-loader.js';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, writeConfig } from './helpers/collector.js';

describe('config: ${NAME} environment references', () => {
  it('replaces references inside any string value, leaves other values alone', () => {
    const log = createLogger('MainThread');
    const raw = {
      globals: { id: '1', name: 'tenant-${TENANT}', queue_max_size_in_mb: 10, debug: false },
      inputs: { darktrace: { credentials: { public_token: '${PUB_T}', private_token: '${PRIV_T}', instance: 'https://${HOST}:8443' } } },
      list: ['${TENANT}', 3],
      literal: '$TENANT ${not-a-name} ${}',
    };
    const out = expandEnvReferences(raw, { TENANT: 'acme', PUB_T: 'pub-1', PRIV_T: 'priv-2', HOST: 'dt.example' }, log);
    expect(out).toEqual({
      globals: { id: '1', name: 'tenant-acme', queue_max_size_in_mb: 10, debug: false },
      inputs: { darktrace: { credentials: { public_token: 'pub-1', private_token: 'priv-2', instance: 'https://dt.example:8443' } } },
      list: ['acme', 3],
      literal: '$TENANT ${not-a-name} ${}',
    });
  });

  it('an unset variable: a WARNING names it and the key, the key\'s own check fails with its id (exit 2)', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig('http://127.0.0.1:9');
    cfg.inputs.darktrace.credentials.public_token = '${DEPLOY_TEST_UNSET_PUBLIC_TOKEN}';
    cfg.inputs.darktrace.credentials.private_token = '${DEPLOY_TEST_PRIVATE_TOKEN}';
    writeConfig(dir, cfg);
    const env = { DEPLOY_TEST_PRIVATE_TOKEN: PRIV };
    delete process.env['DEPLOY_TEST_UNSET_PUBLIC_TOKEN'];
    const c = runCollector(['--config', 'config.yaml'], dir, env);
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toMatch(/WARNING MainProcess::MainThread -> "inputs\.darktrace\.credentials\.public_token" references the environment variable "DEPLOY_TEST_UNSET_PUBLIC_TOKEN", which is not set/);
    expect(c.output()).toContain('InitVariablesError(24)');
    expect(c.output()).not.toContain(PRIV);
    expect(c.output()).not.toContain(PUB);
  });
});
