/**
 * The single production entry point (bundled to dist/main.js). The supervisor forks itself with
 * DEVO_COLLECTOR_ROLE=input|output, so one file runs all three processes.
 */
import { ROLE_ENV } from './role-env.js';

const role = process.env[ROLE_ENV];
// Each process loads only its own code (dynamic imports: esbuild initialises a module reached that
// way when it is first imported): the supervisor does not initialise undici, the WebAssembly
// scanner, the spool or the senders, and the workers not the config compiler or the web service
// (RSS per process, docs/BENCHMARKS.md "Memory").
const loadFailed = (e: unknown) => {
  // Code that fails to load: one line, no stack trace (a worker's exit is seen by the supervisor).
  process.stderr.write(`RuntimeError(500): ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
};
if (role === 'input') {
  import('@devo-collector/input').then((m) => m.runInputWorker(), loadFailed);
} else if (role === 'output') {
  import('@devo-collector/output').then((m) => m.runOutputWorker(), loadFailed);
} else {
  runSupervisor().catch(loadFailed);
}

async function runSupervisor(): Promise<void> {
  const [{ flushLogs }, { runCli }] = await Promise.all([import('@devo-collector/common'), import('./cli.js')]);
  await runCli(process.argv.slice(2)).then(
    async (code) => {
      await flushLogs();
      process.exit(code);
    },
    async (e: unknown) => {
      // Last resort: one line, no stack trace (the stack goes to debug output only).
      process.stderr.write(`RuntimeError(500): ${(e as Error)?.message ?? String(e)}\n`);
      await flushLogs();
      process.exit(1);
    },
  );
}
