/**
 * Command line: `node dist/main.js --config config.yaml [--validate] [--definitions FILE]
 * [--no-save-state]`, or Collector Server mode with `--job-config` / `--collector-config`.
 * Exit codes: 0 clean stop, 2 configuration error, 3 a worker failed to start, 1 anything else.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  CollectorError,
  InitVariablesError,
  compileConfig,
  configureLogging,
  createLogger,
  startGcReporter,
  maskConfig,
  type CompiledConfig,
} from '@devo-collector/common';
import { CertificateExpiryMonitor } from '@devo-collector/output';
import { loadConfigFiles } from './config-loader.js';
import { Supervisor, StartupError } from './supervisor.js';
import { runValidation } from './validate.js';
import { CollectorMetrics } from './metrics.js';
import { startWebService, type WebService } from './web-service.js';

export const VERSION = '1.0.0';

export const HELP = `devo-collector-darktrace ${VERSION}
Pulls Darktrace events and delivers them to Devo.

Usage:
  node dist/main.js --config config.yaml [options]
  node dist/main.js --job-config FILE --collector-config FILE [options]

Options:
  --config FILE            configuration file (relative: working directory, then config/)
  --job-config FILE        Collector Server job file (default /etc/devo/job/job_config.json)
  --collector-config FILE  Collector Server collector file (default /etc/devo/collector/collector_config.json)
  --definitions FILE       override the bundled collector_definitions.yaml
  --validate               check the configuration, credentials and outputs, then exit
  --no-save-state          keep state in memory only (nothing persisted)
  --help                   show this help
  --version                show the version

Exit codes: 0 clean stop, 1 runtime failure or failed validation, 2 configuration error,
3 a worker process failed to start.`;

export const EXIT = { ok: 0, failure: 1, config: 2, startup: 3 } as const;

interface Args {
  config?: string;
  jobConfig?: string;
  collectorConfig?: string;
  definitions?: string;
  validate: boolean;
  saveState: boolean;
  help: boolean;
  version: boolean;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'job-config': { type: 'string' },
      'collector-config': { type: 'string' },
      definitions: { type: 'string' },
      validate: { type: 'boolean', default: false },
      'no-save-state': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      version: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values['job-config'] !== undefined ? { jobConfig: values['job-config'] } : {}),
    ...(values['collector-config'] !== undefined ? { collectorConfig: values['collector-config'] } : {}),
    ...(values.definitions !== undefined ? { definitions: values.definitions } : {}),
    validate: values.validate === true,
    saveState: values['no-save-state'] !== true,
    help: values.help === true,
    version: values.version === true,
  };
}

/** Load and compile; configuration errors are printed as `InitVariablesError(n): ...`. */
export function loadCompiledConfig(args: Args, cwd: string): CompiledConfig {
  const log = createLogger('MainThread');
  const files = loadConfigFiles({ ...args, cwd }, log);
  const config = compileConfig(files.raw, files.definitionsRaw, {
    cwd,
    configPath: files.configPath,
    definitionsPath: files.definitionsPath,
    mode: files.mode,
    // Read here, once (${VAR} references, the proxy variables); workers get the compiled config.
    env: process.env,
  });
  if (!args.saveState) config.globals.persistence.type = 'memory';
  for (const input of config.inputs.filter((i) => !i.enabled)) {
    log.warn(`Input "${input.name}" (id ${input.id}) has "enabled: false": nothing will be collected from it`);
  }
  return config;
}

export async function runCli(argv: string[]): Promise<number> {
  configureLogging({ processName: 'MainProcess' });
  const log = createLogger('MainThread');
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    return EXIT.config;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  let config: CompiledConfig;
  try {
    config = loadCompiledConfig(args, process.cwd());
  } catch (e) {
    if (e instanceof CollectorError) {
      log.error(e.toString());
      return EXIT.config;
    }
    log.error(new InitVariablesError(52, `unexpected error while loading the configuration: ${(e as Error).message}`).toString());
    return EXIT.config;
  }
  configureLogging({ debug: config.globals.debug });
  log.info(`Build time: "UNKNOWN", OS: "${os.type()}-${os.release()}-${os.arch()}", collector(name:version): "darktrace_collector:${config.collectorVersion}", owner: "devo-collector-darktrace", started at: "${new Date().toISOString()}"`);
  log.debug(`Compiled configuration: ${JSON.stringify(maskConfig(config))}`);
  // Devo certificate expiry: a WARNING under 30 days (also with --validate); while running, daily
  // and in certificate_expiry_seconds.
  const certMonitor = new CertificateExpiryMonitor({ outputs: config.outputs });
  if (args.validate) {
    certMonitor.check();
    return runValidation(config);
  }

  const metrics = new CollectorMetrics();
  const supervisor = new Supervisor({ config, saveState: args.saveState, metrics });
  const stopGc = startGcReporter(log, config.globals.gcLogPeriodMs);
  metrics.trackCertificates(() => certMonitor.entries());
  let stopCertMonitor = (): void => undefined;
  let signalled: NodeJS.Signals | null = null;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) return; // a second signal while stopping is ignored; the deadline still holds
      signalled = sig;
      const code = sig === 'SIGINT' ? 2 : 15;
      void supervisor
        .stop(`Received the "${sig}" system signal (code: ${code}), all the processes will be gracefully stopped`)
        .then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  let web: WebService | undefined;
  const closeAll = async (code: number): Promise<number> => {
    await web?.close();
    stopGc();
    stopCertMonitor();
    return code;
  };
  try {
    if (config.globals.web.enabled) {
      web = await startWebService({ host: config.globals.web.host, port: config.globals.web.port, metrics, source: supervisor })
        .catch((e: NodeJS.ErrnoException) => {
          throw new StartupError(null, `the web service cannot listen on ${config.globals.web.host}:${config.globals.web.port} (${e.code ?? e.message})`);
        });
    }
    await supervisor.start();
    // Once the log forwarder runs, so the WARNING also reaches Devo through the internal senders.
    stopCertMonitor = certMonitor.start();
  } catch (e) {
    if (signalled) {
      // Stopped by a signal while starting: a clean stop, not a failure.
      await stopped;
      return closeAll(EXIT.ok);
    }
    const msg = e instanceof StartupError ? e.message : (e as Error).message;
    log.error(`The collector cannot start: ${msg}`);
    await supervisor.stop('Stopping all processes after a failed start');
    return closeAll(EXIT.startup);
  }
  await stopped;
  return closeAll(EXIT.ok);
}
