/** One GraphQL-over-SSE message: the `next` payload of a subscription (or an error), in arrival order. */
export interface SseMessage {
  event: string;
  data: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] } | null;
}

/**
 * Reads a text/event-stream response into messages until the stream completes, or until `stopAfter`
 * `next` messages have arrived, when it drops the connection (as a client losing its network would).
 */
export async function readSse(response: Response, stopAfter = Infinity): Promise<SseMessage[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const messages: SseMessage[] = [];
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return messages;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        if (event === undefined) continue; // keep-alive comments
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.replace(/^data: ?/, ""))
          .join("\n");
        messages.push({ event, data: data === "" ? null : JSON.parse(data) });
        if (event === "complete") return messages;
        if (messages.filter((m) => m.event === "next").length >= stopAfter) return messages;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export const SUBSCRIBE = `subscription($id: Int!, $after: String) { replayJobEvents(id: $id, after: $after) { id kind taskId data job { status values } } }`;

export interface EventPayload {
  id: string;
  kind: string;
  taskId: number | null;
  data: Record<string, unknown>;
  job: { status: string; values: number };
}

/** The events of `next` messages, failing on any error message. */
export function eventsOf(messages: SseMessage[]): EventPayload[] {
  const errors = messages.flatMap((m) => m.data?.errors ?? []);
  if (errors.length > 0) throw new Error(`subscription errors: ${JSON.stringify(errors)}`);
  return messages.filter((m) => m.event === "next").map((m) => (m.data!.data as { replayJobEvents: EventPayload }).replayJobEvents);
}
