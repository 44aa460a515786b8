import { describe, expect, test } from "vitest";
import { applyEvent, emptyAssistant, endStream, toolArguments, type AssistantMessage, type StreamEvent } from "../src/stream";

function fold(events: StreamEvent[]): AssistantMessage {
  return events.reduce(applyEvent, emptyAssistant("s1"));
}

const start: StreamEvent = { event: "message.start", data: { id: "s1", created: 1, model: "assistant", usage: { input_tokens: 18 } } };
const end: StreamEvent[] = [
  { event: "message.delta", data: { stop_reason: "end_turn", usage: { input_tokens: 18, output_tokens: 13 } } },
  { event: "message.stop", data: {} },
];

describe("applyEvent", () => {
  test("a reply with reasoning, text and a tool call, block by block", () => {
    const message = fold([
      start,
      { event: "block.start", data: { index: 0, type: "thinking" } },
      { event: "block.delta", data: { index: 0, text: "Two plus " } },
      { event: "block.delta", data: { index: 0, text: "three." } },
      { event: "block.stop", data: { index: 0 } },
      { event: "block.start", data: { index: 1, type: "text" } },
      { event: "block.delta", data: { index: 1, text: "The answer is 5." } },
      { event: "block.stop", data: { index: 1 } },
      { event: "block.start", data: { index: 2, type: "tool_call", id: "call_1", name: "get_weather" } },
      { event: "block.delta", data: { index: 2, text: '{"city": ' } },
      { event: "block.delta", data: { index: 2, text: '"Paris"}' } },
      { event: "block.stop", data: { index: 2 } },
      ...end,
    ]);
    expect(message.status).toBe("done");
    expect(message.model).toBe("assistant");
    expect(message.stopReason).toBe("end_turn");
    expect(message.usage).toEqual({ input_tokens: 18, output_tokens: 13 });
    expect(message.blocks).toEqual([
      { type: "thinking", text: "Two plus three.", done: true },
      { type: "text", text: "The answer is 5.", done: true },
      { type: "tool_call", text: '{"city": "Paris"}', done: true, id: "call_1", name: "get_weather" },
    ]);
    expect(toolArguments(message.blocks[2]!)).toEqual({ city: "Paris" });
  });

  test("mid-stream: the open block is not done and the message still streams", () => {
    const message = fold([start, { event: "block.start", data: { index: 0, type: "thinking" } }, { event: "block.delta", data: { index: 0, text: "Hm" } }]);
    expect(message.status).toBe("streaming");
    expect(message.blocks[0]).toEqual({ type: "thinking", text: "Hm", done: false });
  });

  test("a cancel (Stop) ends the message as stopped, keeping what arrived", () => {
    const message = fold([
      start,
      { event: "block.start", data: { index: 0, type: "text" } },
      { event: "block.delta", data: { index: 0, text: "Once upon" } },
      { event: "error", data: { type: "cancelled", message: "The generation was cancelled." } },
    ]);
    expect(message.status).toBe("stopped");
    expect(message.error).toBeUndefined();
    expect(message.blocks).toEqual([{ type: "text", text: "Once upon", done: true }]);
  });

  test("a cancel in the error body's shape (499, GenerationStopped) is a stop too", () => {
    const message = fold([start, { event: "error", data: { detail: "The generation was cancelled.", error: "GenerationStopped", status_code: 499 } }]);
    expect(message.status).toBe("stopped");
  });

  test("a failed generation says what happened", () => {
    const message = fold([start, { event: "error", data: { detail: "CUDA out of memory", error: "HTTPException", status_code: 500 } }]);
    expect(message.status).toBe("error");
    expect(message.error).toBe("CUDA out of memory (HTTPException)");
    const invalid = fold([start, { event: "error", data: { detail: { "params.top_p": ["must be at most 1"] }, error: "InvalidParameter", status_code: 400 } }]);
    expect(invalid.error).toBe("params.top_p: must be at most 1 (InvalidParameter)");
  });

  test("malformed and unknown events leave the message as it was", () => {
    const before = fold([start, { event: "block.start", data: { index: 0, type: "text" } }]);
    for (const event of [
      { event: "ping", data: {} },
      { event: "block.delta", data: { index: 5, text: "x" } },
      { event: "block.delta", data: { index: -1, text: "x" } },
      { event: "block.delta", data: { index: 0, text: 3 } },
      { event: "block.start", data: { index: 1, type: "image" } },
      { event: "block.stop", data: "nonsense" },
    ]) {
      expect(applyEvent(before, event)).toBe(before);
    }
  });

  test("events never mutate the message they are applied to", () => {
    const before = fold([start, { event: "block.start", data: { index: 0, type: "text" } }]);
    const frozen = JSON.stringify(before);
    applyEvent(before, { event: "block.delta", data: { index: 0, text: "more" } });
    applyEvent(before, end[1]!);
    expect(JSON.stringify(before)).toBe(frozen);
  });

  test("endStream closes a message that lost its stream, and leaves a finished one alone", () => {
    const open = fold([start, { event: "block.start", data: { index: 0, type: "text" } }]);
    const ended = endStream(open, "error", "The server could not be reached.");
    expect(ended.status).toBe("error");
    expect(ended.blocks[0]!.done).toBe(true);
    const done = fold([start, ...end]);
    expect(endStream(done, "stopped")).toBe(done);
  });
});
