import type { RunEvent } from '../../client';
import type { Renderer } from './renderer';

// --json: one event per line, {event, id, data} as the stream gave it (NDJSON), and nothing else
// on stdout; notes and errors go to stderr, so `| jq` reads only events.

export class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  event(event: RunEvent): void {
    this.out.write(`${JSON.stringify({ event: event.event, id: event.id, data: event.data })}\n`);
  }

  close(): void {}

  note(): void {}
}
