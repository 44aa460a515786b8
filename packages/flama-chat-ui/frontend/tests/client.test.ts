import { afterEach, describe, expect, test, vi } from "vitest";
import { ApiError, Client } from "../src/api";
import { parseConfig } from "../src/config";
import { toWire } from "../src/conversation";
import { emptyAssistant } from "../src/stream";

function sse(text: string, fail = false): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      // The events first; then the end, or a connection lost once they have been read.
      if (!sent) controller.enqueue(new TextEncoder().encode(text));
      else if (fail) controller.error(new TypeError("network error"));
      else controller.close();
      sent = true;
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

afterEach(() => vi.unstubAllGlobals());

describe("Client", () => {
  test("a dropped stream resumes from its last event id, nothing lost or repeated", async () => {
    const calls: { url: string; lastId: string | null }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      const lastId = new Headers(init.headers).get("Last-Event-ID");
      calls.push({ url, lastId });
      if (lastId === null) return sse('id: 0\nevent: message.start\ndata: {}\n\nid: 1\nevent: block.start\ndata: {"index":0,"type":"text"}\n\n', true);
      return sse('id: 2\nevent: block.delta\ndata: {"index":0,"text":"hi"}\n\nid: 3\nevent: message.stop\ndata: {}\n\n');
    });
    const client = new Client("http://model.test/llm/", () => "secret");
    const events = [];
    for await (const event of client.events("s 1", new AbortController().signal)) events.push(event.event);
    expect(events).toEqual(["message.start", "block.start", "block.delta", "message.stop"]);
    expect(calls).toEqual([
      { url: "http://model.test/llm/stream/s%201/", lastId: null },
      { url: "http://model.test/llm/stream/s%201/", lastId: "1" },
    ]);
  });

  test("HTTP errors say what happened and what to do", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ detail: "Too many requests are waiting for this model" }), { status: 429 }));
    const error = await new Client("http://model.test/llm/").open({ messages: [] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(
      "Sending the message failed: HTTP 429 — Too many requests are waiting for this model. The model is busy with other requests; try again in a moment.",
    );
  });

  test("an unreachable server is named as such", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(new Client("http://model.test/llm/").info()).rejects.toThrow("Reading the model failed: the server could not be reached (Failed to fetch).");
  });

  test("the API key goes as a bearer token", async () => {
    let auth: string | null = null;
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      auth = new Headers(init.headers).get("Authorization");
      return new Response(JSON.stringify({ id: "s1" }));
    });
    expect(await new Client("http://model.test/llm/", () => "k1").open({ messages: [] })).toBe("s1");
    expect(auth).toBe("Bearer k1");
  });
});

describe("toWire", () => {
  test("system prompt, turns, reasoning and tool calls in the HF chat format", () => {
    const answer = {
      ...emptyAssistant(),
      status: "done" as const,
      blocks: [
        { type: "thinking" as const, text: "Weather needs a tool.", done: true },
        { type: "tool_call" as const, id: "call_1", name: "get_weather", text: '{"city": "Paris"}', done: true },
      ],
    };
    const failed = { ...emptyAssistant(), status: "error" as const, error: "HTTP 503" };
    expect(
      toWire(
        [
          { role: "user", content: "Hi" },
          failed,
          { role: "user", content: "Weather in Paris?" },
          answer,
          { role: "tool", content: '{"sky": "sunny"}', name: "get_weather", toolCallId: "call_1" },
        ],
        "Be brief.",
      ),
    ).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        reasoning_content: "Weather needs a tool.",
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } }],
      },
      { role: "tool", content: { sky: "sunny" }, name: "get_weather", tool_call_id: "call_1" },
    ]);
  });
});

describe("parseConfig", () => {
  test("the injected options over the defaults; wrong types are ignored", () => {
    const config = parseConfig({ title: "Ask", suggestions: ["a", 3], params: { temperature: 0, top_p: "x" }, colors: { accent: "#123", bad: 1 }, api_base: "/m/" });
    expect(config.title).toBe("Ask");
    expect(config.suggestions).toEqual(["a"]);
    expect(config.params).toEqual({ temperature: 0 });
    expect(config.colors).toEqual({ accent: "#123" });
    expect(config.apiBase).toBe("/m/");
    expect(parseConfig("nonsense").title).toBe("Flama chat");
  });
});
