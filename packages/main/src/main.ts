/**
 * The single production entry point (bundled to dist/main.js). The supervisor forks itself with
 * DEVO_COLLECTOR_ROLE=input|output, so one file runs all three processes.
 */
import { flushLogs } from '@devo-collector/common';
import { ROLE_ENV } from './worker-handle.js';
import { runCli } from './cli.js';

const role = process.env[ROLE_ENV];
// Each worker loads only its own package (a dynamic import: esbuild initialises a module reached
// that way when it is first imported), and the supervisor neither: undici, the WebAssembly scanner,
// the spool and the senders are not initialised in a process that does not use them (~RSS per
// process, docs/BENCHMARKS.md "Memory").
const workerLoadFailed = (e: unknown) => {
  // A worker whose code fails to load: one line, no stack trace; the supervisor sees the exit.
  process.stderr.write(`RuntimeError(500): ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
};
if (role === 'input') {
  import('@devo-collector/input').then((m) => m.runInputWorker(), workerLoadFailed);
} else if (role === 'output') {
  import('@devo-collector/output').then((m) => m.runOutputWorker(), workerLoadFailed);
} else {
  runCli(process.argv.slice(2)).then(
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
