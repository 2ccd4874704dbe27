/** Scripted failures: each spec hits the next `count` matching requests, in injection order. */
import type { FaultKind, FaultSpec } from './types.js';

interface FaultQueue {
  add(f: FaultSpec): void;
  take(path: string): { kind: FaultKind; retryAfterSec: number } | null;
}

export function createFaultQueue(): FaultQueue {
  const pending: Array<FaultSpec & { left: number }> = [];
  return {
    add(f) {
      if (f.count > 0) pending.push({ ...f, left: f.count });
    },
    take(path) {
      const i = pending.findIndex((f) => f.endpoint === undefined || f.endpoint === path);
      const f = pending[i];
      if (!f) return null;
      if (--f.left <= 0) pending.splice(i, 1);
      return { kind: f.kind, retryAfterSec: f.retryAfterSec ?? 1 };
    },
  };
}

export const LOGIN_PAGE_HTML =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Log In | Darktrace</title></head>' +
  '<body><form method="post" action="/login"><input name="username"><input name="password" type="password"></form></body></html>';

export const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
