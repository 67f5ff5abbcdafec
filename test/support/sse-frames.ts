import { TextDecoder } from 'node:util';

/**
 * Splits a server-sent-events body into frames (the text between blank lines), decoding UTF-8
 * across chunk boundaries. Read errors (an abort) reach the caller's `for await`; breaking out of
 * the loop cancels the body.
 */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      yield frame;
    }
  }
}
