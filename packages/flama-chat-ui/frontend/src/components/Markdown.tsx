// Markdown as it streams: the text is split into its top-level blocks, each rendered (and sanitised) on its own, so a
// finished paragraph, formula or diagram is left alone while the last block grows.

import type { Links, Token, Tokens } from "marked";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { fenceClosed, lex, renderTokens } from "../markdown";
import { typesetMath } from "../math";
import { MermaidBlock } from "./MermaidBlock";

/** Put `text` on the clipboard (the Clipboard API needs a secure context; elsewhere the older way). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host has no clipboard API: the old way still works there.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** Copies a code block when its button is clicked (buttons are plain HTML inside the rendered Markdown). */
export function onCopyClick(event: MouseEvent): void {
  const target = event.target as HTMLElement | null;
  const button = target?.closest<HTMLButtonElement>("button[data-copy]");
  const code = button?.closest(".code-block")?.querySelector("code");
  if (!button || !code) return;
  copyText(code.textContent ?? "").then(
    () => {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    },
    () => (button.textContent = "Copy failed"),
  );
}

function HtmlBlock({ token, links, linksKey }: { token: Token; links: Links; linksKey: string }) {
  const ref = useRef<HTMLDivElement>(null);
  // Each streamed token lexes the text again: a block is rendered (and sanitised) again only when it changed.
  const html = useMemo(() => renderTokens([token], links), [token.raw, linksKey]);
  useEffect(() => {
    if (ref.current && html.includes('class="math')) void typesetMath(ref.current);
  }, [html]);
  return <div class="md-block" ref={ref} dangerouslySetInnerHTML={{ __html: html }} />;
}

export function Markdown({ source, final }: { source: string; final: boolean }) {
  const tokens = useMemo(() => lex(source), [source]);
  const linksKey = useMemo(() => JSON.stringify(tokens.links), [tokens]);
  return (
    <div class="markdown" onClick={onCopyClick}>
      {tokens.map((token, index) => {
        if (token.type === "space") return null;
        if (token.type === "code" && (token as Tokens.Code).lang?.trim().toLowerCase() === "mermaid") {
          const complete = final || fenceClosed(token.raw);
          return <MermaidBlock key={index} code={(token as Tokens.Code).text} complete={complete} />;
        }
        return <HtmlBlock key={index} token={token} links={tokens.links} linksKey={linksKey} />;
      })}
    </div>
  );
}
