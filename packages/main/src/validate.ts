/**
 * `--validate`: config already compiled; now check every enabled service's credentials against the
 * appliance (input worker, validateOnly) and every output's connectivity (output worker), report,
 * and return the process exit code (0 all good, 1 otherwise).
 */
import {
  createLogger,
  formatError,
  type CompiledConfig,
  type InputToSupervisorMessage,
  type OutputToSupervisorMessage,
  type SerializedError,
  type SupervisorToInputMessage,
  type SupervisorToOutputMessage,
} from '@devo-collector/common';
import { WorkerHandle } from './worker-handle.js';

interface CheckResult {
  what: string;
  ok: boolean;
  error?: SerializedError;
}

export async function runValidation(config: CompiledConfig, timeoutMs = 120_000): Promise<number> {
  const log = createLogger('MainThread');
  const results: CheckResult[] = [];
  const services = config.inputs.filter((i) => i.enabled).flatMap((i) => i.services.map((s) => s.name));
  const outputs = config.outputs.map((o) => o.name);

  const input = new WorkerHandle<SupervisorToInputMessage, InputToSupervisorMessage>('input', (m) => {
    if (m.type === 'started') void input.send({ type: 'init', config, saveState: false, validateOnly: true });
    if (m.type === 'setup-result') results.push({ what: `service ${m.service}`, ok: m.ok, ...(m.error ? { error: m.error } : {}) });
    if (m.type === 'init-failed') results.push({ what: 'input', ok: false, error: m.error });
  });
  const output = new WorkerHandle<SupervisorToOutputMessage, OutputToSupervisorMessage>('output', (m) => {
    if (m.type === 'started') void output.send({ type: 'init', config, validateOnly: true });
    if (m.type === 'output-check') results.push({ what: `output ${m.output}`, ok: m.ok, ...(m.error ? { error: m.error } : {}) });
    if (m.type === 'init-failed') results.push({ what: 'output', ok: false, error: m.error });
  });
  await Promise.all([input.waitOrKill(timeoutMs), output.waitOrKill(timeoutMs)]);

  for (const s of services) if (!results.some((r) => r.what === `service ${s}`)) results.push({ what: `service ${s}`, ok: false });
  for (const o of outputs) if (!results.some((r) => r.what === `output ${o}`)) results.push({ what: `output ${o}`, ok: false });
  let failed = 0;
  for (const r of results) {
    if (r.ok) log.info(`Validation of ${r.what}: OK`);
    else {
      failed++;
      log.error(`Validation of ${r.what}: FAILED${r.error ? ` ${formatError(r.error)}` : ' (no answer)'}`);
    }
  }
  log.info(`Validation finished: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
