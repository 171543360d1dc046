/**
 * A clip file open for reading, served as a Web stream from any offset.
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";

/** How much a clip download reads at a time. */
const READ_CHUNK_BYTES = 64 * 1024;

/** A clip open for reading: its bytes from any offset as a Web stream, on both runtimes. */
export class OpenClipFile {
  readonly #handle: FileHandle;
  #closed = false;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Closes the file; again is fine. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#handle.close().catch(() => {});
  }

  /**
   * The file's bytes from `start` to its end as it is then (a clip being written keeps
   * growing); closes the file at the end, on an error, or when the reader cancels.
   */
  readable(start = 0): ReadableStream<Uint8Array> {
    let position = start;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const buffer = new Uint8Array(READ_CHUNK_BYTES);
          const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) {
            this.close();
            controller.close();
            return;
          }
          position += bytesRead;
          controller.enqueue(buffer.subarray(0, bytesRead));
        } catch (error) {
          this.close();
          controller.error(error);
        }
      },
      cancel: () => this.close(),
    });
  }
}
