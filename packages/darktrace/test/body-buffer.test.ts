import { describe, expect, it } from 'vitest';
import { BodyBuffer } from '../src/body-buffer.js';

describe('BodyBuffer', () => {
  const parts = [Buffer.from('[{"a":'), Buffer.from('1},'), Buffer.from('{"b":2}]')];
  const whole = Buffer.concat(parts);

  it('collects a body of declared length into one buffer, and one without a declared length', () => {
    for (const declared of [whole.length, -1]) {
      const b = new BodyBuffer(declared);
      for (const p of parts) b.push(p);
      expect(b.size).toBe(whole.length);
      expect(b.bytes().equals(whole)).toBe(true);
    }
  });

  it('keeps every byte when the server sends more or less than it declared', () => {
    for (const declared of [5, whole.length + 10, 0]) {
      const b = new BodyBuffer(declared);
      for (const p of parts) b.push(p);
      expect(b.bytes().toString()).toBe(whole.toString());
    }
  });

  it('release detaches a preallocated body (its views read empty), once; a chunked body is left to the GC', () => {
    const b = new BodyBuffer(whole.length);
    for (const p of parts) b.push(p);
    const view = b.bytes().subarray(2, 6);
    expect(view.toString()).toBe('"a":');
    b.release();
    expect(view.buffer.byteLength).toBe(0);
    expect(view.length).toBe(0);
    b.release(); // a second call has nothing left to free and does not throw
    const chunked = new BodyBuffer(-1);
    for (const p of parts) chunked.push(p);
    const bytes = chunked.bytes(); // a concat, maybe in Node's shared pool: never detached
    chunked.release();
    expect(bytes.toString()).toBe(whole.toString());
  });
});
