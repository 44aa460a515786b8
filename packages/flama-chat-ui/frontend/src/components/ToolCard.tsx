// A tool call as a card: the function's name and call id, and each argument shown by its JSON type (text, number,
// true/false, null, lists and objects nested). Under the last call, a form sends the tool's result back.

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { toolArguments, type Block } from "../stream";

export function Value({ value }: { value: unknown }): JSX.Element {
  if (value === null) return <span class="v v-null">null</span>;
  if (typeof value === "string") {
    return value.includes("\n") ? <pre class="v v-string">{value}</pre> : <span class="v v-string">{value}</span>;
  }
  if (typeof value === "number") return <span class="v v-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span class="v v-boolean">{value ? "true" : "false"}</span>;
  if (Array.isArray(value)) {
    if (!value.length) return <span class="v v-empty">[] (empty list)</span>;
    return (
      <ol class="v v-array" start={0}>
        {value.map((item, index) => (
          <li key={index}>
            <Value value={item} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length) return <span class="v v-empty">{"{}"} (empty object)</span>;
    return (
      <dl class="v v-object">
        {entries.map(([key, item]) => (
          <div class="v-entry" key={key}>
            <dt>{key}</dt>
            <dd>
              <Value value={item} />
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return <span class="v">{String(value)}</span>;
}

interface ToolCardProps {
  block: Block;
  /** Called with the tool's result when the person sends one; absent when the call already has its result. */
  onResult?: (result: string) => void;
}

export function ToolCard({ block, onResult }: ToolCardProps) {
  const [result, setResult] = useState("");
  const args = toolArguments(block);
  let body: JSX.Element;
  if (args !== undefined) body = <Value value={args} />;
  else if (!block.done) body = <pre class="tool-raw">{block.text || "…"}</pre>;
  else
    body = (
      <>
        <p class="tool-warning">The arguments are not valid JSON:</p>
        <pre class="tool-raw">{block.text}</pre>
      </>
    );
  const name = block.name ?? "(unnamed tool)";
  return (
    <section class="tool-card" aria-label={`Tool call: ${name}`}>
      <header class="tool-head">
        <span class="tool-badge" aria-hidden="true">
          ƒ
        </span>
        <span class="tool-title">
          Calls <strong class="tool-name">{name}</strong>
        </span>
        {block.id ? <code class="tool-id" title="Call id">{block.id}</code> : null}
        {!block.done ? <span class="tool-status">receiving…</span> : null}
      </header>
      <div class="tool-args">{body}</div>
      {onResult && block.done ? (
        <form
          class="tool-result"
          onSubmit={(event) => {
            event.preventDefault();
            if (result.trim()) onResult(result);
          }}
        >
          <label>
            <span>Result of {name} (text or JSON)</span>
            <textarea rows={2} value={result} onInput={(event) => setResult(event.currentTarget.value)} />
          </label>
          <button type="submit" disabled={!result.trim()}>
            Send result
          </button>
        </form>
      ) : null}
    </section>
  );
}
