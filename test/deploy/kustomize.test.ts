/**
 * The Kubernetes manifests as `kubectl kustomize` (kubectl is on the CI machine; scripts/setup.sh
 * checks it) renders them: the base's Deployment, volume, config and secrets, and the two-tenants
 * example with nothing shared between the tenants. That the rendered YAML really runs is
 * kube-play.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BASE_DIR, TWO_TENANTS_DIR, kustomize, type K8sObject } from './helpers.js';

const byKind = (objs: K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);

function checkCollectorDeployment(d: K8sObject, objs: K8sObject[]): void {
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
  expect(c.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
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
  expect(Object.keys(certs!.stringData).sort()).toEqual(['chain.crt', 'devo.crt', 'devo.key']);
  const env = Object.fromEntries((c.env as any[]).map((e) => [e.name, e]));
  const tokenSecretNames = new Set([env['DARKTRACE_PUBLIC_TOKEN'].valueFrom.secretKeyRef.name, env['DARKTRACE_PRIVATE_TOKEN'].valueFrom.secretKeyRef.name]);
  expect(tokenSecretNames.size).toBe(1);
  const tokens = byKind(objs, 'Secret').find((s) => tokenSecretNames.has(s.metadata.name));
  expect(tokens, `${name}: its token Secret`).toBeDefined();
  expect(Object.keys(tokens!.stringData).sort()).toEqual(['private_token', 'public_token']);

  // The config: tokens only as ${...} references, the named certificate files exist in the Secret,
  // the state on the volume, and a termination grace above the collector's shutdown grace.
  const config = parseYaml(cm!.data['config.yaml'] as string) as Record<string, any>;
  expect(config.inputs.darktrace.credentials.public_token).toBe('${DARKTRACE_PUBLIC_TOKEN}');
  expect(config.inputs.darktrace.credentials.private_token).toBe('${DARKTRACE_PRIVATE_TOKEN}');
  expect(config.globals.persistence.config.directory_name).toBe('state');
  const out = config.outputs.devo_1.config;
  for (const f of [out.chain, out.cert, out.key]) expect(Object.keys(certs!.stringData), `certificate file ${f}`).toContain(f);
  expect(config.globals.web_service.port).toBe(3000);
  const shutdownGrace = config.globals.shutdown_grace_period_in_sec ?? 10;
  expect(pod.terminationGracePeriodSeconds, `${name}: terminationGracePeriodSeconds > shutdown_grace_period_in_sec`).toBeGreaterThan(shutdownGrace);
  // Placeholders only: nothing that looks like a real key or token is committed.
  for (const v of [...Object.values(certs!.stringData), ...Object.values(tokens!.stringData)]) expect(String(v)).toMatch(/^<.*>$/);
}

describe('kubernetes manifests (kubectl kustomize)', () => {
  it('base: one Deployment (replicas 1, Recreate, probes, non-root read-only pod) with its PVC, ConfigMap and Secrets', async () => {
    const { objects } = await kustomize(BASE_DIR);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Secret', 'Secret']);
    checkCollectorDeployment(byKind(objects, 'Deployment')[0]!, objects);
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
});
