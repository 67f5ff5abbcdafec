import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Text written to a stream in order, in bounded memory: a write waits for 'drain' once the
 * stream's buffer is full, so an export of a million records holds one page at a time, not the
 * whole output queued behind a slow pipe or disk. A stream error rejects the waiting write.
 */
export async function writeText(stream: Writable, text: string): Promise<void> {
  if (text.length === 0 || stream.write(text)) return;
  // once() rejects if the stream emits 'error' first.
  await once(stream, 'drain');
}

/**
 * A file written as a stream and put in place only when complete: the text goes to a temporary
 * file beside `path` (same directory, so the rename is atomic) that `commit()` renames over
 * `path` and `abort()` removes. A reader of `path` never sees half an export, and an earlier
 * file there stays as it was until the new one is whole.
 */
export class FileSink {
  private done = false;

  private constructor(
    private readonly path: string,
    private readonly temp: string,
    private readonly stream: Writable,
  ) {
    // Reported to the next write or to commit(); without a listener an error would crash the process.
    stream.on('error', () => undefined);
  }

  /** Open the temporary file; a path that cannot be written is refused here, naming `path`. */
  static async create(path: string): Promise<FileSink> {
    const temp = `${path}.partial-${process.pid}`;
    const stream = createWriteStream(temp, { flags: 'w', mode: 0o644 });
    try {
      await once(stream, 'open');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`cannot write ${path}${code ? ` (${code})` : ''}: ${(error as Error).message.replace(temp, path)}`, { cause: error });
    }
    return new FileSink(path, temp, stream);
  }

  write(text: string): Promise<void> {
    return writeText(this.stream, text);
  }

  /** Flush, close and rename over the target. */
  async commit(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
    await rename(this.temp, this.path);
    this.done = true;
  }

  /** Close and remove the temporary file (the target is untouched); nothing after a commit() that succeeded. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    await finished(this.stream).catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
