// Bundles the collector into one self-contained file, dist/main.js (the supervisor forks it again
// for the input and output workers), and the simulator CLI into dist/darktrace-sim.js.
// Dependencies are bundled so the container image needs no node_modules.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
mkdirSync(dist, { recursive: true });

// CommonJS dependencies (winston, pidusage, ...) call require(); give the ESM bundle one.
const banner = {
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};

const entries = [
  { in: 'packages/main/src/main.ts', out: 'main' },
  { in: 'packages/darktrace-sim/src/cli.ts', out: 'darktrace-sim' },
].filter((e) => existsSync(path.join(root, e.in)));

await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir: dist,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  minifyWhitespace: true,
  banner,
  logLevel: 'warning',
});
copyFileSync(path.join(root, 'packages/darktrace/collector_definitions.yaml'), path.join(dist, 'collector_definitions.yaml'));
console.log(`built ${entries.map((e) => `dist/${e.out}.js`).join(', ')}`);
