/** A response body collected into one Buffer: preallocated when its length is declared. */
export class BodyBuffer {
  size = 0;
  private chunks: Buffer[] = [];
  private whole: Buffer | null;

  constructor(declared: number) {
    this.whole = declared >= 0 ? Buffer.allocUnsafeSlow(declared) : null;
  }

  push(chunk: Buffer): void {
    if (this.whole && this.size + chunk.length <= this.whole.length) {
      chunk.copy(this.whole, this.size);
    } else {
      // More than declared (a server that lies): keep what arrived, as chunks, from here on.
      if (this.whole) this.chunks.push(this.whole.subarray(0, this.size));
      this.whole = null;
      this.chunks.push(chunk);
    }
    this.size += chunk.length;
  }

  bytes(): Buffer {
    return this.whole ? this.whole.subarray(0, this.size) : Buffer.concat(this.chunks, this.size);
  }
}
