// Flow control on the UI side: xterm.js calls back once it has parsed a chunk; we add those bytes up
// and acknowledge them to the engine in batches, so one tiny command does not follow every frame.

export const ACK_BATCH_BYTES = 64 * 1024;
export const ACK_LINGER_MS = 20;

export class AckBatcher {
  private pending = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Total bytes acknowledged so far (sent to the engine). */
  acked = 0;

  constructor(private readonly send: (bytes: number) => void) {}

  /** Record `bytes` rendered; sends at once above the batch size, otherwise after a short linger. */
  rendered(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= ACK_BATCH_BYTES) {
      this.flush();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), ACK_LINGER_MS);
    }
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending > 0) {
      const bytes = this.pending;
      this.pending = 0;
      this.acked += bytes;
      this.send(bytes);
    }
  }

  dispose(): void {
    this.flush();
  }
}

/** A string from xterm's onBinary carries one byte per UTF-16 unit. */
export function binaryStringToBytes(data: string): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data.charCodeAt(i) & 0xff;
  return out;
}
