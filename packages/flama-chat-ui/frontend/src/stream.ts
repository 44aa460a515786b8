// The native dialect's stream, folded into an assistant message.
//
// A stream is `message.start`, then per block `block.start`, `block.delta`... and `block.stop`, then `message.delta`
// (stop reason and usage) and `message.stop`; a failure or a cancel ends it with `error` ({type, message}).

export type BlockType = "text" | "thinking" | "tool_call";

export interface Block {
  type: BlockType;
  text: string;
  done: boolean;
  /** A tool call's id and function name. */
  id?: string;
  name?: string;
}

export type Status = "streaming" | "done" | "stopped" | "error";

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
}

export interface AssistantMessage {
  role: "assistant";
  blocks: Block[];
  status: Status;
  stopReason?: string;
  usage?: Usage;
  error?: string;
  model?: string;
  streamId?: string;
}

export interface StreamEvent {
  event: string;
  data: unknown;
}

export function emptyAssistant(streamId?: string): AssistantMessage {
  return { role: "assistant", blocks: [], status: "streaming", streamId };
}

function record(data: unknown): Record<string, unknown> {
  return typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
}

function indexOf(data: Record<string, unknown>): number | null {
  const index = data.index;
  return typeof index === "number" && Number.isInteger(index) && index >= 0 ? index : null;
}

function withBlock(message: AssistantMessage, index: number, change: (block: Block) => Block): AssistantMessage {
  const block = message.blocks[index];
  if (block === undefined) return message;
  const blocks = message.blocks.slice();
  blocks[index] = change(block);
  return { ...message, blocks };
}

function closeBlocks(blocks: Block[]): Block[] {
  return blocks.every((block) => block.done) ? blocks : blocks.map((block) => ({ ...block, done: true }));
}

/** An error's detail as a sentence: a message, or fields and their errors (`{"messages[0].role": ["..."]}`). */
export function describeDetail(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "object" && !Array.isArray(detail)) {
    return Object.entries(detail as Record<string, unknown>)
      .map(([field, reasons]) => `${field}: ${Array.isArray(reasons) ? reasons.join("; ") : String(reasons)}`)
      .join(", ");
  }
  return JSON.stringify(detail);
}

/** The message after one event; the message is never mutated, unknown events leave it as it is. */
export function applyEvent(message: AssistantMessage, { event, data }: StreamEvent): AssistantMessage {
  const body = record(data);
  switch (event) {
    case "message.start": {
      const usage = record(body.usage) as Usage;
      return {
        ...message,
        model: typeof body.model === "string" ? body.model : message.model,
        usage: { ...message.usage, ...usage },
      };
    }
    case "block.start": {
      const index = indexOf(body);
      const type = body.type;
      if (index === null || (type !== "text" && type !== "thinking" && type !== "tool_call")) return message;
      const block: Block = { type, text: "", done: false };
      if (typeof body.id === "string") block.id = body.id;
      if (typeof body.name === "string") block.name = body.name;
      const blocks = message.blocks.slice();
      blocks[index] = block;
      return { ...message, blocks };
    }
    case "block.delta": {
      const index = indexOf(body);
      const text = body.text;
      if (index === null || typeof text !== "string") return message;
      return withBlock(message, index, (block) => ({ ...block, text: block.text + text }));
    }
    case "block.stop": {
      const index = indexOf(body);
      if (index === null) return message;
      return withBlock(message, index, (block) => ({ ...block, done: true }));
    }
    case "message.delta":
      return {
        ...message,
        stopReason: typeof body.stop_reason === "string" ? body.stop_reason : message.stopReason,
        usage: { ...message.usage, ...(record(body.usage) as Usage) },
      };
    case "message.stop":
      return { ...message, status: "done", blocks: closeBlocks(message.blocks) };
    case "error": {
      // The error body: {detail, error, status_code} (the one shape of Flama errors); a cancel is a 499.
      const detail = describeDetail(body.detail ?? body.message);
      const kind = typeof body.error === "string" ? body.error : typeof body.type === "string" ? body.type : "error";
      const stopped = body.type === "cancelled" || (body.status_code === 499 && /cancel/i.test(detail));
      return {
        ...message,
        status: stopped ? "stopped" : "error",
        stopReason: stopped ? "cancelled" : message.stopReason,
        error: stopped ? undefined : `${detail || "The generation failed."} (${kind})`,
        blocks: closeBlocks(message.blocks),
      };
    }
    default:
      return message;
  }
}

/** The message as it stands when its stream ends without a last event (Stop, or the connection lost for good). */
export function endStream(message: AssistantMessage, status: "stopped" | "error", error?: string): AssistantMessage {
  if (message.status !== "streaming") return message;
  return { ...message, status, error, blocks: closeBlocks(message.blocks) };
}

/** A tool call's arguments: the parsed JSON value, or `undefined` while it is incomplete or not JSON. */
export function toolArguments(block: Block): unknown {
  try {
    return JSON.parse(block.text);
  } catch {
    return undefined;
  }
}
