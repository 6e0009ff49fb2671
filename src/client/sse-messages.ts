import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';

// One SSE response as messages, parsed by eventsource-parser (the web-stream version: the
// response body, a TextDecoderStream, then the parser; no Node built-ins).

export interface MessageHooks {
  /** The server's `retry:` field: its suggested reconnect delay. */
  onRetry(ms: number): void;
  /** Nothing, not even a keep-alive comment, for this long: `onIdle` is called (it aborts the fetch). */
  idleTimeoutMs: number;
  onIdle(): void;
}

/** The messages of one connection, in order; ends when the server ends the stream, throws when the connection breaks. */
export async function* readMessages(body: ReadableStream<Uint8Array>, hooks: MessageHooks): AsyncGenerator<EventSourceMessage> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(hooks.onIdle, hooks.idleTimeoutMs);
  };
  // Typed by hand: with the DOM lib (a browser project), TypeScript sees TextDecoderStream's
  // writable side as BufferSource and refuses it for a stream of Uint8Array.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const messages = body.pipeThrough(decoder).pipeThrough(
    new EventSourceParserStream({
      onRetry: (ms) => {
        alive();
        hooks.onRetry(ms);
      },
      onComment: alive,
    }),
  );
  const reader = messages.getReader();
  alive();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      alive();
      yield value;
    }
  } finally {
    clearTimeout(timer);
    // Stops the body too (a consumer that left early); after an error there is nothing to stop.
    reader.cancel().catch(() => undefined);
  }
}
