export { createDarktraceClient, RawRecord, type DarktraceClient, type DarktraceClientOptions, type RecordMapper, type RecordsAnswer, type RecordsOptions } from './client.js';
export { signRequest, formatDtapiDate, buildPathAndQuery, type QueryValue } from './sign.js';
export { isRetryable, authProblem, type AttemptOutcome } from './outcome.js';
export type { LimitSpec } from './rate-limiter.js';
