export { startSimulator } from './server.js';
export { parseDtapiDate } from './auth.js';
/** The seeded generator the simulator uses; tests share it to make random trials replayable. */
export { mulberry32 } from './prng.js';
export type { FaultKind, FaultSpec, RequestLogEntry, SimOrder, SimRecord, SimService, Simulator, SimulatorOptions } from './types.js';
