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

  /**
   * Frees a preallocated body now: its ArrayBuffer sits in the old generation and would die only
   * at a mark-compact; moved out (detached), the memory goes at the next scavenge. Every view of
   * the body reads as empty afterwards, so only once nothing can read it. A chunked body is left
   * to the GC: its concat may share Node's buffer pool.
   */
  release(): void {
    const ab = this.whole?.buffer as ArrayBuffer | undefined;
    this.whole = null;
    if (ab) structuredClone(ab, { transfer: [ab] });
  }
}
