export { startSimulator } from './server.js';
export { parseDtapiDate } from './auth.js';
export type { FaultKind, FaultSpec, RequestLogEntry, SimOrder, SimRecord, SimService, Simulator, SimulatorOptions } from './types.js';
