/**
 * The single production entry point (bundled to dist/main.js). The supervisor forks itself with
 * DEVO_COLLECTOR_ROLE=input|output, so one file runs all three processes.
 */
import { runInputWorker } from '@devo-collector/input';
import { runOutputWorker } from '@devo-collector/output';
import { flushLogs } from '@devo-collector/common';
import { ROLE_ENV } from './worker-handle.js';
import { runCli } from './cli.js';

const role = process.env[ROLE_ENV];
if (role === 'input') {
  runInputWorker();
} else if (role === 'output') {
  runOutputWorker();
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
