export { Supervisor, StartupError, type SupervisorOptions, type SupervisorState, type SupervisorFigures } from './supervisor.js';
export { runCli, loadCompiledConfig, HELP, VERSION, EXIT } from './cli.js';
export { loadConfigFiles, fromCollectorServer, resolveConfigPath, bundledDefinitionsPath } from './config-loader.js';
