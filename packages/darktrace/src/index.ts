export { createDarktraceClient, type DarktraceClient, type DarktraceClientOptions } from './client.js';
export { RawRecord, type RecordMapper, type RecordsAnswer, type RecordsOptions } from './records.js';
export { signRequest, formatDtapiDate, buildPathAndQuery, type QueryValue } from './sign.js';
export { isRetryable, authProblem, type AttemptOutcome } from './outcome.js';
export type { LimitSpec } from './rate-limiter.js';
