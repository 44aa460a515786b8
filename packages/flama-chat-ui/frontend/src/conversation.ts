// Conversations as the browser keeps them, and as the native dialect receives them (`messages`, HF chat format).

import type { WireMessage } from "./api";
import { toolArguments, type AssistantMessage } from "./stream";

export interface UserMessage {
  role: "user";
  content: string;
}

/** A tool's result, typed in by the person after a tool call. */
export interface ToolResultMessage {
  role: "tool";
  content: string;
  name?: string;
  toolCallId?: string;
}

export type Message = UserMessage | AssistantMessage | ToolResultMessage;

export interface Conversation {
  id: string;
  title: string;
  created: number;
  updated: number;
  messages: Message[];
}

export function newConversation(now: number = Date.now()): Conversation {
  const id = typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${now}-${Math.random().toString(16).slice(2)}`;
  return { id, title: "New chat", created: now, updated: now, messages: [] };
}

/** A title from the first user message: its first line, shortened. */
export function titleFrom(text: string): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > 48 ? `${line.slice(0, 47)}…` : line || "New chat";
}

function assistantWire(message: AssistantMessage): WireMessage | null {
  const text = message.blocks.filter((block) => block.type === "text").map((block) => block.text).join("");
  const thinking = message.blocks.filter((block) => block.type === "thinking").map((block) => block.text).join("");
  const calls = message.blocks.filter((block) => block.type === "tool_call" && block.name);
  if (!text && !calls.length) return null;
  const wire: WireMessage = { role: "assistant", content: text };
  if (thinking) wire.reasoning_content = thinking;
  if (calls.length) {
    wire.tool_calls = calls.map((block) => {
      const parsed = toolArguments(block);
      const call: NonNullable<WireMessage["tool_calls"]>[number] = {
        type: "function",
        function: { name: block.name ?? "", arguments: typeof parsed === "object" && parsed !== null ? parsed : block.text },
      };
      if (block.id) call.id = block.id;
      return call;
    });
  }
  return wire;
}

function toolContent(text: string): WireMessage["content"] {
  const parsed = toolArguments({ type: "tool_call", text, done: true });
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : text;
}

/** The request's `messages`: the system prompt (when set), then the conversation; answers with nothing to say are left out. */
export function toWire(messages: Message[], systemPrompt: string): WireMessage[] {
  const wire: WireMessage[] = systemPrompt.trim() ? [{ role: "system", content: systemPrompt }] : [];
  for (const message of messages) {
    if (message.role === "user") wire.push({ role: "user", content: message.content });
    else if (message.role === "tool") {
      const result: WireMessage = { role: "tool", content: toolContent(message.content) };
      if (message.name) result.name = message.name;
      if (message.toolCallId) result.tool_call_id = message.toolCallId;
      wire.push(result);
    } else {
      const answer = assistantWire(message);
      if (answer) wire.push(answer);
    }
  }
  return wire;
}
