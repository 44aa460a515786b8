// One message: the person's (editable), a tool result, or the model's answer block by block (reasoning, text, tool
// calls) with its state (streaming, stopped, failed) and actions.

import { useState } from "preact/hooks";
import type { Message } from "../conversation";
import type { AssistantMessage, Block } from "../stream";
import { copyText, Markdown } from "./Markdown";
import { ToolCard } from "./ToolCard";

function Thinking({ block }: { block: Block }) {
  // Open while the model thinks, folded once it has (the person can open it again).
  return (
    <details class="thinking" open={!block.done}>
      <summary>{block.done ? "Thought" : "Thinking…"}</summary>
      <div class="thinking-body">
        <Markdown source={block.text} final={block.done} />
      </div>
    </details>
  );
}

interface AnswerProps {
  message: AssistantMessage;
  last: boolean;
  onRegenerate?: () => void;
  onToolResult?: (block: Block, result: string) => void;
}

function Answer({ message, last, onRegenerate, onToolResult }: AnswerProps) {
  const streaming = message.status === "streaming";
  const text = message.blocks.filter((block) => block.type === "text").map((block) => block.text).join("");
  const [copied, setCopied] = useState(false);
  return (
    <article class={`message assistant ${message.status}`} aria-label="Answer" aria-busy={streaming}>
      {message.blocks.map((block, index) => {
        if (!block) return null;
        if (block.type === "thinking") return <Thinking key={index} block={block} />;
        if (block.type === "tool_call") {
          const respond = last && !streaming && onToolResult ? (result: string) => onToolResult(block, result) : undefined;
          return <ToolCard key={index} block={block} onResult={respond} />;
        }
        return <Markdown key={index} source={block.text} final={block.done} />;
      })}
      {streaming && !message.blocks.length ? <p class="waiting">Waiting for the model…</p> : null}
      {streaming ? <span class="cursor" aria-hidden="true" /> : null}
      {message.status === "stopped" ? <p class="note">Stopped.</p> : null}
      {message.stopReason === "max_tokens" ? <p class="note">The answer reached its token limit.</p> : null}
      {message.error ? (
        <p class="error" role="alert">
          {message.error}
        </p>
      ) : null}
      {!streaming ? (
        <div class="actions">
          {text ? (
            <button
              type="button"
              onClick={() => {
                copyText(text).then(
                  () => setCopied(true),
                  () => undefined,
                );
              }}
            >
              {copied ? "Copied" : "Copy"}
            </button>
          ) : null}
          {last && onRegenerate ? (
            <button type="button" onClick={onRegenerate}>
              Regenerate
            </button>
          ) : null}
          {message.usage?.output_tokens !== undefined ? (
            <span class="usage">
              {message.usage.input_tokens ?? "?"} → {message.usage.output_tokens} tokens
            </span>
          ) : null}
        </div>
      ) : null}
    </article>
  );
}

interface UserProps {
  content: string;
  busy: boolean;
  onEdit: (content: string) => void;
}

function Question({ content, busy, onEdit }: UserProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(content);
  if (editing) {
    return (
      <form
        class="message user editing"
        onSubmit={(event) => {
          event.preventDefault();
          if (!draft.trim()) return;
          setEditing(false);
          onEdit(draft);
        }}
      >
        <label class="visually-hidden" for="edit-message">
          Edit your message
        </label>
        <textarea
          id="edit-message"
          value={draft}
          rows={Math.min(10, draft.split("\n").length + 1)}
          onInput={(event) => setDraft(event.currentTarget.value)}
          ref={(element) => element?.focus()}
        />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || !draft.trim()}>
            Save and send
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </div>
      </form>
    );
  }
  return (
    <article class="message user" aria-label="Your message">
      <div class="bubble">{content}</div>
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setDraft(content);
            setEditing(true);
          }}
        >
          Edit
        </button>
      </div>
    </article>
  );
}

interface MessageViewProps {
  message: Message;
  last: boolean;
  busy: boolean;
  onEdit: (content: string) => void;
  onRegenerate: () => void;
  onToolResult: (block: Block, result: string) => void;
}

export function MessageView({ message, last, busy, onEdit, onRegenerate, onToolResult }: MessageViewProps) {
  if (message.role === "user") return <Question content={message.content} busy={busy} onEdit={onEdit} />;
  if (message.role === "tool") {
    return (
      <article class="message tool" aria-label={`Result of ${message.name ?? "the tool"}`}>
        <div class="tool-result-head">Result of {message.name ?? "the tool"}</div>
        <pre>{message.content}</pre>
      </article>
    );
  }
  return (
    <Answer
      message={message}
      last={last}
      onRegenerate={busy ? undefined : onRegenerate}
      onToolResult={busy ? undefined : onToolResult}
    />
  );
}
