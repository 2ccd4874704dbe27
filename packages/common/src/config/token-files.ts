/**
 * `credentials.<token>_file`: the Docker / Kubernetes secret-file convention. The file's content,
 * trimmed, is the token; the inline key and the file key are mutually exclusive (id 60); a file
 * that cannot be read or is empty is id 61, naming the file, never its content.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fail, show, type Dict } from './checks.js';

/** The token's inline value, or the trimmed content of `<key>_file`; undefined when neither is set. */
export function tokenFromInlineOrFile(c: Dict, key: 'public_token' | 'private_token', at: string, cwd: string): unknown {
  const fileKey = `${key}_file`;
  const file = c[fileKey];
  if (file === undefined || file === null) return c[key];
  if (c[key] !== undefined && c[key] !== null) {
    fail(60, `${at}.${key} and ${at}.${fileKey} are both set; keep one of them`);
  }
  if (typeof file !== 'string' || !file.trim()) fail(61, `${at}.${fileKey} must be a file path, got ${show(file)}`);
  const p = path.resolve(cwd, file.trim());
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    fail(61, `${at}.${fileKey} file "${p}" cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = text.trim();
  if (!token) fail(61, `${at}.${fileKey} file "${p}" is empty`);
  return token;
}
