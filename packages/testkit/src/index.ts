export { generateTestCerts, type TestCerts } from './certs.js';
export { startTlsReceiver, type TlsReceiver } from './tls-receiver.js';
export { startTcpReceiver, type TcpReceiver } from './tcp-receiver.js';
export { WireDecoder } from './wire-decoder.js';
export { freePort } from './ports.js';
export { makeCompiledConfig, makeServiceConfig } from './compiled-config.js';
