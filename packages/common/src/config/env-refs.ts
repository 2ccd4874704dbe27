/**
 * `${VAR}` references in any string value of the configuration, resolved from the supervisor's
 * environment once, before anything else is checked (workers never read process.env). `$${` is a
 * literal `${`. A reference to a variable that is not set is InitVariablesError(59) naming the
 * variable and the key, never a value. Keys are not substituted, only values.
 */
import { fail, isDict } from './checks.js';

const REF = /\$\$\{|\$\{([^}]*)\}?/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function resolveString(text: string, at: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!text.includes('${')) return text;
  return text.replace(REF, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (!match.endsWith('}')) fail(59, `${at} has a "\${" without its closing "}" (write "$\${" for a literal "\${")`);
    if (!NAME.test(name ?? '')) fail(59, `${at} references \${${name ?? ''}}, which is not a valid environment variable name`);
    const value = env[name!];
    if (value === undefined) fail(59, `${at} references the environment variable ${name}, which is not set`);
    return value;
  });
}

function resolve(value: unknown, at: string, env: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === 'string') return resolveString(value, at, env);
  if (Array.isArray(value)) return value.map((v, i) => resolve(v, `${at}[${i}]`, env));
  if (isDict(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolve(v, at ? `${at}.${k}` : k, env);
    return out;
  }
  return value;
}

/** A copy of `raw` with every `${VAR}` replaced by its value from `env`. */
export function resolveEnvRefs(raw: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  return resolve(raw, '', env);
}
