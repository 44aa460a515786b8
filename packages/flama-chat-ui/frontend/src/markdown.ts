// Markdown to safe HTML: marked (GFM: tables, task lists, autolinks, strikethrough) plus math ($…$, $$…$$, \(…\),
// \[…\]) left as placeholders for KaTeX, and code blocks highlighted with a copy button. Every piece of HTML goes
// through DOMPurify before it reaches the page.

import DOMPurify from "dompurify";
import { Marked, type Links, type Token, type Tokens, type TokenizerAndRendererExtension } from "marked";
import { escapeHtml, highlight } from "./highlight";

const inlineMath: TokenizerAndRendererExtension = {
  name: "inlineMath",
  level: "inline",
  start(src) {
    const index = src.search(/\$|\\\(/);
    return index === -1 ? undefined : index;
  },
  tokenizer(src) {
    // `$x$` needs no space inside its dollars and no digit after the closing one, so "$5 and $10" stays text.
    const match = /^\$(?![\s$])((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)/.exec(src) ?? /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (match) return { type: "inlineMath", raw: match[0], text: match[1] ?? "" };
    return undefined;
  },
  renderer(token) {
    return `<span class="math" data-tex="${escapeHtml(token.text as string)}">${escapeHtml(token.raw)}</span>`;
  },
};

const blockMath: TokenizerAndRendererExtension = {
  name: "blockMath",
  level: "block",
  start(src) {
    const index = src.search(/\$\$|\\\[/);
    return index === -1 ? undefined : index;
  },
  tokenizer(src) {
    const match = /^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/.exec(src) ?? /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n+|$)/.exec(src);
    if (match) return { type: "blockMath", raw: match[0], text: (match[1] ?? "").trim() };
    return undefined;
  },
  renderer(token) {
    return `<div class="math math-display" data-tex="${escapeHtml(token.text as string)}">${escapeHtml(token.raw)}</div>\n`;
  },
};

/** A code block with its language, highlighted code and a copy button (its click is handled by the message view). */
export function codeBlockHtml(code: string, language: string): string {
  const label = language ? `<span class="code-lang">${escapeHtml(language)}</span>` : "<span></span>";
  const className = language ? ` class="hljs language-${escapeHtml(language)}"` : ' class="hljs"';
  return (
    `<div class="code-block">` +
    `<div class="code-head">${label}<button type="button" class="copy" data-copy aria-label="Copy code">Copy</button></div>` +
    `<pre><code${className}>${highlight(code, language)}</code></pre></div>`
  );
}

const marked = new Marked({ gfm: true, breaks: false });
marked.use({
  extensions: [blockMath, inlineMath],
  renderer: {
    code({ text, lang }: Tokens.Code) {
      return codeBlockHtml(text.replace(/\n$/, ""), (lang ?? "").split(/\s/, 1)[0] ?? "");
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  // Links from a model's answer open apart from the chat, and tell the site nothing.
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

export function sanitize(html: string): string {
  return DOMPurify.sanitize(html, { ADD_ATTR: ["target"], FORBID_TAGS: ["style", "form", "input", "textarea"] }) as string;
}

/** The top-level blocks of `source` (paragraphs, lists, tables, code...), each rendered on its own. */
export function lex(source: string): Token[] & { links: Links } {
  return marked.lexer(source);
}

/** One or more tokens as sanitised HTML. */
export function renderTokens(tokens: Token[], links: Links = {}): string {
  const list = Object.assign(tokens.slice(), { links });
  return sanitize(marked.parser(list));
}

/** A whole Markdown text as sanitised HTML. */
export function renderMarkdown(source: string): string {
  return sanitize(marked.parse(source, { async: false }));
}

/** Whether a fenced code block's closing fence has arrived (a block still streaming has none yet). */
export function fenceClosed(raw: string): boolean {
  const opening = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
  if (!opening) return true;
  const fence = opening[1] ?? "```";
  const lines = raw.trimEnd().split("\n");
  if (lines.length < 2) return false;
  const last = (lines[lines.length - 1] ?? "").trim();
  return last.startsWith(fence) && new RegExp(`^${fence[0] === "`" ? "`" : "~"}+$`).test(last);
}
