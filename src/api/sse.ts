/** Server-sent events framing (text/event-stream): one `event:`/`id:`/`data:` block per message. */
export function formatSse(event: string, data: unknown, id?: number): string {
  const lines = JSON.stringify(data).split('\n'); // JSON.stringify never emits raw newlines; kept for safety
  return `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}${lines.map((l) => `data: ${l}`).join('\n')}\n\n`;
}

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

/** Incremental parser for the client side: feed chunks, get whole messages. */
export class SseParser {
  private buffer = '';

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message = parseBlock(block);
      if (message) out.push(message);
    }
    return out;
  }
}

function parseBlock(block: string): SseMessage | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // comment / heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  return { event, id, data: data.join('\n') };
}
