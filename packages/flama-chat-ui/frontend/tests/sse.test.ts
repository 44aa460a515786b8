import { describe, expect, test } from "vitest";
import { SSEParser } from "../src/sse";

describe("SSEParser", () => {
  test("events split anywhere across chunks", () => {
    const text = 'id: 0\nevent: message.start\ndata: {"id": "s"}\n\n: heartbeat\n\nid: 1\nevent: block.delta\ndata: {"index": 0, "text": "hi"}\n\n';
    for (let size = 1; size <= text.length; size += 7) {
      const parser = new SSEParser();
      const messages = [];
      for (let at = 0; at < text.length; at += size) messages.push(...parser.push(text.slice(at, at + size)));
      expect(messages).toEqual([
        { event: "message.start", data: '{"id": "s"}', id: "0" },
        { event: "block.delta", data: '{"index": 0, "text": "hi"}', id: "1" },
      ]);
    }
  });

  test("CRLF and CR line ends, multi-line data, a field without a value", () => {
    const parser = new SSEParser();
    expect(parser.push("event: a\r\ndata: one\r\ndata: two\r\n\r\ndata\rdata:x\r")).toEqual([{ event: "a", data: "one\ntwo" }]);
    expect(parser.push("\rdata: more\n\n")).toEqual([
      { event: "message", data: "\nx" },
      { event: "message", data: "more" },
    ]);
  });

  test("an event with no data is dropped, and its name does not leak into the next", () => {
    const parser = new SSEParser();
    expect(parser.push("event: lonely\n\ndata: 1\n\n")).toEqual([{ event: "message", data: "1" }]);
  });
});
