// The builders live in packages/testkit (shared with src/dev.ts); this path stays for the tests importing it.
export { compiledConfig, outputConfig } from '@devo-collector/testkit';
