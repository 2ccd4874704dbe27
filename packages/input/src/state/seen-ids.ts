/**
 * Bounded memory of delivered record keys, oldest evicted first. Each key maps to a content hash
 * ('' when the service does not re-emit on change), so a record that changed after it was sent can
 * be recognised. Insertion order is the eviction order; re-setting a key moves it to the end.
 */
export type SeenEntry = [key: string, hash: string];

export class SeenIds {
  private readonly map = new Map<string, string>();

  constructor(
    readonly maxSize: number,
    entries: readonly SeenEntry[] = [],
  ) {
    for (const [k, h] of entries) this.set(k, h);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, hash: string): void {
    this.map.delete(key);
    this.map.set(key, hash);
    while (this.map.size > this.maxSize) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  clear(): void {
    this.map.clear();
  }

  entries(): SeenEntry[] {
    return [...this.map.entries()];
  }
}
