/**
 * The Kubernetes manifests as `kubectl kustomize` (kubectl is on the CI machine; scripts/setup.sh
 * checks it) renders them: the base's Deployment, volume, config and secrets, and the two-tenants
 * example with nothing shared between the tenants. That the rendered YAML really runs is
 * kube-play.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileConfig } from '@devo-collector/common';
import { BASE_DIR, DEPLOY, ROOT, TWO_TENANTS_DIR, kustomize, run, type K8sObject } from './helpers.js';

/**
 * Every rendered config.yaml passes the collector's own compiler (known keys, values, the
 * certificate files it names), with the tokens from the environment as the pod has them.
 */
async function compileRendered(objects: K8sObject[]): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'darktrace-kcompile-'));
  try {
    await mkdir(path.join(dir, 'certs'));
    for (const f of ['chain.crt', 'devo.crt', 'devo.key']) await writeFile(path.join(dir, 'certs', f), 'placeholder\n');
    const definitions = parseYaml(await readFile(path.join(ROOT, 'packages', 'darktrace', 'collector_definitions.yaml'), 'utf8'));
    let n = 0;
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
      const raw = parseYaml(cm.data['config.yaml'] as string);
      const compiled = compileConfig(raw, definitions, {
        cwd: dir, configPath: null, definitionsPath: 'collector_definitions.yaml', mode: 'file',
        env: { DARKTRACE_PUBLIC_TOKEN: 'pub-token-from-secret', DARKTRACE_PRIVATE_TOKEN: 'priv-token-from-secret' },
      });
      expect(compiled.inputs[0]!.credentials.privateToken, cm.metadata.name).toBe('priv-token-from-secret');
      n++;
    }
    return n;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const byKind = (objs: K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);

function checkCollectorDeployment(d: K8sObject, objs: K8sObject[], opts: { realSecrets?: boolean } = {}): void {
  const name = d.metadata.name;
  expect(d.apiVersion).toBe('apps/v1');
  expect(d.spec.replicas, `${name}: replicas`).toBe(1);
  expect(d.spec.strategy, `${name}: strategy`).toEqual({ type: 'Recreate' });
  const pod = d.spec.template.spec;
  expect(d.spec.selector.matchLabels).toEqual(expect.objectContaining(d.spec.template.metadata.labels));
  const [c, ...others] = pod.containers;
  expect(others).toEqual([]);
  expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 3000 });
  expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 3000 });
  // Non-root, read-only, no privileges.
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.runAsUser).toBe(1000);
  expect(pod.securityContext.fsGroup).toBe(1000);
  expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
  expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
  expect(pod.hostNetwork, 'hostNetwork only in the test overlay').toBeUndefined();
  // Requests and limits (figures from docs/BENCHMARKS.md, in the manifest's comment).
  expect(c.resources.requests).toEqual({ cpu: '50m', memory: '256Mi' });
  expect(c.resources.limits).toEqual({ cpu: '1', memory: '768Mi' });
  // Prometheus scrape annotations on the pod.
  expect(d.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '3000', 'prometheus.io/path': '/metrics' });

  // Every volume and reference resolves to an object of the same rendering.
  const vols = Object.fromEntries((pod.volumes as any[]).map((v) => [v.name, v]));
  const mounts = Object.fromEntries((c.volumeMounts as any[]).map((m) => [m.mountPath, m]));
  expect(mounts['/devo-collector/state'].name).toBe('state');
  expect(mounts['/devo-collector/config']).toEqual(expect.objectContaining({ name: 'config', readOnly: true }));
  expect(mounts['/devo-collector/certs']).toEqual(expect.objectContaining({ name: 'certs', readOnly: true }));
  expect(vols[mounts['/tmp'].name].emptyDir, 'an emptyDir at /tmp (readOnlyRootFilesystem; the batch lane socket)').toBeDefined();
  const pvc = byKind(objs, 'PersistentVolumeClaim').find((p) => p.metadata.name === vols['state'].persistentVolumeClaim.claimName);
  expect(pvc, `${name}: its PersistentVolumeClaim`).toBeDefined();
  expect(pvc!.spec.accessModes).toEqual(['ReadWriteOnce']);
  const cm = byKind(objs, 'ConfigMap').find((m) => m.metadata.name === vols['config'].configMap.name);
  expect(cm, `${name}: its ConfigMap`).toBeDefined();
  const certs = byKind(objs, 'Secret').find((s) => s.metadata.name === vols['certs'].secret.secretName);
  expect(certs, `${name}: its certificate Secret`).toBeDefined();
  const certKeys = Object.keys(certs!.stringData ?? certs!.data).sort();
  expect(certKeys).toEqual(['chain.crt', 'devo.crt', 'devo.key']);
  const env = Object.fromEntries((c.env as any[]).map((e) => [e.name, e]));
  const tokenSecretNames = new Set([env['DARKTRACE_PUBLIC_TOKEN'].valueFrom.secretKeyRef.name, env['DARKTRACE_PRIVATE_TOKEN'].valueFrom.secretKeyRef.name]);
  expect(tokenSecretNames.size).toBe(1);
  const tokens = byKind(objs, 'Secret').find((s) => tokenSecretNames.has(s.metadata.name));
  expect(tokens, `${name}: its token Secret`).toBeDefined();
  expect(Object.keys(tokens!.stringData ?? tokens!.data).sort()).toEqual(['private_token', 'public_token']);

  // The config: tokens only as ${...} references, the named certificate files exist in the Secret,
  // the state on the volume, and a termination grace above the collector's shutdown grace.
  const config = parseYaml(cm!.data['config.yaml'] as string) as Record<string, any>;
  expect(config.inputs.darktrace.credentials.public_token).toBe('${DARKTRACE_PUBLIC_TOKEN}');
  expect(config.inputs.darktrace.credentials.private_token).toBe('${DARKTRACE_PRIVATE_TOKEN}');
  expect(config.globals.persistence.config.directory_name).toBe('state');
  const out = config.outputs.devo_1.config;
  for (const f of [out.chain, out.cert, out.key]) expect(certKeys, `certificate file ${f}`).toContain(f);
  expect(config.globals.web_service.port).toBe(3000);
  const shutdownGrace = config.globals.shutdown_grace_period_in_sec ?? 10;
  expect(pod.terminationGracePeriodSeconds, `${name}: terminationGracePeriodSeconds > shutdown_grace_period_in_sec`).toBeGreaterThan(shutdownGrace);
  // Placeholders only in the repository: nothing that looks like a real key or token is committed.
  if (!opts.realSecrets) {
    for (const v of [...Object.values(certs!.stringData), ...Object.values(tokens!.stringData)]) expect(String(v)).toMatch(/^<.*>$/);
  } else {
    expect(certs!.stringData, 'the placeholders are replaced').toBeUndefined();
    expect(tokens!.stringData, 'the placeholders are replaced').toBeUndefined();
  }
}

describe('kubernetes manifests (kubectl kustomize)', () => {
  it('base: one Deployment (replicas 1, Recreate, probes, non-root read-only pod) with its PVC, ConfigMap and Secrets', async () => {
    const { objects } = await kustomize(BASE_DIR);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Secret', 'Secret']);
    checkCollectorDeployment(byKind(objects, 'Deployment')[0]!, objects);
    expect(await compileRendered(objects)).toBe(1);
  });

  it('two-tenants: two instances, each with its own name, selector, config, secrets and volume', async () => {
    const { objects } = await kustomize(TWO_TENANTS_DIR);
    const deployments = byKind(objects, 'Deployment');
    expect(deployments).toHaveLength(2);
    expect(byKind(objects, 'PersistentVolumeClaim')).toHaveLength(2);
    expect(byKind(objects, 'ConfigMap')).toHaveLength(2);
    expect(byKind(objects, 'Secret')).toHaveLength(4);
    // Every object name is unique in the rendering.
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const d of deployments) checkCollectorDeployment(d, objects);
    expect(await compileRendered(objects)).toBe(2);

    const refs = deployments.map((d) => {
      const pod = d.spec.template.spec;
      const vols = Object.fromEntries((pod.volumes as any[]).map((v) => [v.name, v]));
      const env = Object.fromEntries((pod.containers[0].env as any[]).map((e) => [e.name, e]));
      const cm = byKind(objects, 'ConfigMap').find((m) => m.metadata.name === vols['config'].configMap.name)!;
      const config = parseYaml(cm.data['config.yaml'] as string) as Record<string, any>;
      return {
        name: d.metadata.name,
        selector: JSON.stringify(d.spec.selector.matchLabels),
        pvc: vols['state'].persistentVolumeClaim.claimName,
        configMap: vols['config'].configMap.name,
        certs: vols['certs'].secret.secretName,
        tokens: env['DARKTRACE_PUBLIC_TOKEN'].valueFrom.secretKeyRef.name,
        instance: config.inputs.darktrace.credentials.instance,
        inputId: config.inputs.darktrace.id,
      };
    });
    const [a, b] = refs as [(typeof refs)[0], (typeof refs)[0]];
    for (const k of Object.keys(a) as (keyof typeof a)[]) expect(a[k], `tenants differ in ${k}`).not.toBe(b[k]);
  });

  it('stamp-tenants.sh: fifty tenants from a list render to fifty isolated collectors with their own secrets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'darktrace-stamp-'));
    try {
      const names = Array.from({ length: 50 }, (_, i) => `tenant-${String(i + 1).padStart(2, '0')}`);
      const list = ['# name instance [devo address]', ...names.map((n, i) => `${n} dt-${n}.example.net${i % 2 ? ' collector-us.devo.io' : ''}`)].join('\n');
      await writeFile(path.join(dir, 'tenants.txt'), `${list}\n`);
      const out = path.join(dir, 'tenants');
      const r = await run('bash', [path.join(DEPLOY, 'kubernetes', 'stamp-tenants.sh'), path.join(dir, 'tenants.txt'), out]);
      expect(r.stdout).toContain('stamped 50 tenants');
      for (const n of names) {
        await writeFile(path.join(out, n, 'secrets', 'tokens.env'), `public_token=PUB-${n}\nprivate_token=PRIV-${n}\n`);
        for (const f of ['chain.crt', 'devo.crt', 'devo.key']) await writeFile(path.join(out, n, 'secrets', f), `${f} of ${n}\n`);
      }
      const { objects } = await kustomize(out);
      const deployments = byKind(objects, 'Deployment');
      expect(deployments).toHaveLength(50);
      for (const d of deployments) checkCollectorDeployment(d, objects, { realSecrets: true });
      const ids = new Set<string>();
      for (const [i, n] of names.entries()) {
        const d = deployments.find((x) => x.metadata.name === `darktrace-collector-${n}`)!;
        expect(d, n).toBeDefined();
        expect(d.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe(`darktrace-${n}`);
        const cm = byKind(objects, 'ConfigMap').find((m) => m.metadata.name === `darktrace-collector-config-${n}`)!;
        const config = parseYaml(cm.data['config.yaml'] as string) as Record<string, any>;
        expect(config.inputs.darktrace.credentials.instance).toBe(`dt-${n}.example.net`);
        expect(config.outputs.devo_1.config.address).toBe(i % 2 ? 'collector-us.devo.io' : 'collector-eu.devo.io');
        ids.add(config.inputs.darktrace.id);
        const tokens = byKind(objects, 'Secret').find((x) => x.metadata.name === `darktrace-collector-tokens-${n}`)!;
        expect(Buffer.from(tokens.data.private_token, 'base64').toString()).toBe(`PRIV-${n}`);
        const certs = byKind(objects, 'Secret').find((x) => x.metadata.name === `darktrace-collector-devo-certs-${n}`)!;
        expect(Buffer.from(certs.data['devo.key'], 'base64').toString()).toBe(`devo.key of ${n}\n`);
      }
      expect(ids.size, 'distinct input ids (they key the state)').toBe(50);
      expect(await compileRendered(objects)).toBe(50);
      expect(new Set(byKind(objects, 'PersistentVolumeClaim').map((p) => p.metadata.name)).size).toBe(50);

      // A bad line is refused with its line number, and no top kustomization.yaml lists a partial set.
      await writeFile(path.join(dir, 'bad.txt'), 'good dt-good.example.net\nBad_Name dt-x.example.net\n');
      const bad = await run('bash', [path.join(DEPLOY, 'kubernetes', 'stamp-tenants.sh'), path.join(dir, 'bad.txt'), path.join(dir, 'bad')], { allowFail: true });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('bad.txt line 2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
