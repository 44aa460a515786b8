import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { Markdown } from "../src/components/Markdown";
import { MermaidBlock } from "../src/components/MermaidBlock";
import { MessageView } from "../src/components/MessageView";
import { ToolCard } from "../src/components/ToolCard";
import type { AssistantMessage } from "../src/stream";
import { fenceClosed, renderMarkdown } from "../src/markdown";
import { limits, setDiagramLoader, type DiagramRenderer } from "../src/mermaid";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  setDiagramLoader(null);
  limits.timeoutMs = 10_000;
});

function show(node: preact.ComponentChild): HTMLElement {
  act(() => render(node, root));
  return root;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; DOM: ${root.innerHTML.slice(0, 500)}`);
    await act(() => new Promise((resolve) => setTimeout(resolve, 10)));
  }
}

describe("Markdown", () => {
  test("GFM: a table, a task list, strikethrough and a link that opens apart", () => {
    const html = renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- item\n\n~~old~~ [site](https://example.org)");
    const page = new DOMParser().parseFromString(html, "text/html");
    expect(Array.from(page.querySelectorAll("td")).map((cell) => cell.textContent)).toEqual(["1", "2"]);
    expect(page.querySelector("input[type=checkbox]")).toBeNull(); // forms are not allowed in answers
    expect(page.querySelector("del")?.textContent).toBe("old");
    const link = page.querySelector("a")!;
    expect(link.getAttribute("href")).toBe("https://example.org");
    expect(link.getAttribute("target")).toBe("_blank");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
  });

  test("sanitised: scripts, event handlers and javascript: links are removed", () => {
    const html = renderMarkdown('<script>alert(1)</script><img src=x onerror="alert(2)"><iframe src="https://e.org"></iframe>');
    expect(html).toBe('<img src="x">');
    const link = renderMarkdown("A [link](javascript:alert(3)) and <a href=\"javascript:alert(4)\">another</a>.");
    expect(link).not.toMatch(/javascript:|<script/i);
    expect(link).toContain("another");
  });

  test("code is highlighted, labelled with its language and has a copy button", () => {
    show(<Markdown source={"```python\ndef f(x):\n    return x + 1\n```"} final={true} />);
    expect(root.querySelector(".code-lang")?.textContent).toBe("python");
    expect(root.querySelector("code .hljs-keyword")?.textContent).toBe("def");
    expect(root.querySelector("code")?.textContent).toBe("def f(x):\n    return x + 1");
    expect(root.querySelector("button[data-copy]")?.getAttribute("aria-label")).toBe("Copy code");
  });

  test("math becomes KaTeX placeholders; prices stay text", () => {
    const html = renderMarkdown("Euler: $e^{i\\pi}+1=0$, costs $5 and $10.\n\n$$\\int_0^1 x^2\\,dx$$");
    const page = new DOMParser().parseFromString(html, "text/html");
    const math = Array.from(page.querySelectorAll<HTMLElement>(".math"));
    expect(math.map((element) => element.dataset.tex)).toEqual(["e^{i\\pi}+1=0", "\\int_0^1 x^2\\,dx"]);
    expect(math[1]!.classList.contains("math-display")).toBe(true);
    expect(page.body.textContent).toContain("costs $5 and $10.");
  });

  test("KaTeX typesets the formulas once it has loaded (lazily)", async () => {
    show(<Markdown source={"Area: $\\pi r^2$"} final={true} />);
    await until(() => root.querySelector(".math .katex") !== null, "KaTeX");
    expect(root.querySelector(".math")!.hasAttribute("data-typeset")).toBe(true);
  });

  test("partial Markdown mid-stream renders what has arrived, never throws", () => {
    const answer = "Here is **bold** text and a table:\n\n| name | value |\n|------|-------|\n| a | 1 |\n\n```js\nconst x = 1;\nconsole.log(x);\n```\n\nDone with *emphasis* and `code`.";
    for (let end = 0; end <= answer.length; end += 1) {
      show(<Markdown source={answer.slice(0, end)} final={false} />);
    }
    expect(root.querySelector("strong")?.textContent).toBe("bold");
    expect(root.querySelectorAll("td")).toHaveLength(2);
    expect(root.querySelector("code.language-js")?.textContent).toBe("const x = 1;\nconsole.log(x);");
    // Half-way through the code block: it shows as code already, unclosed.
    const cut = answer.indexOf("console");
    show(<Markdown source={answer.slice(0, cut)} final={false} />);
    expect(root.querySelector("code.language-js")?.textContent).toBe("const x = 1;");
    // An unclosed emphasis is shown as typed.
    show(<Markdown source={"Some **bol"} final={false} />);
    expect(root.textContent).toContain("Some **bol");
  }, 60_000); // one render per character: slow on a busy machine

  test("a finished block keeps its DOM while the next one streams", () => {
    show(<Markdown source={"First paragraph.\n\nSecond"} final={false} />);
    const first = root.querySelector(".md-block")!;
    show(<Markdown source={"First paragraph.\n\nSecond, growing"} final={false} />);
    expect(root.querySelector(".md-block")).toBe(first);
    expect(root.textContent).toContain("Second, growing");
  });

  test("fenceClosed tells a streaming fence from a complete one", () => {
    expect(fenceClosed("```mermaid\ngraph TD\nA-->B")).toBe(false);
    expect(fenceClosed("```mermaid\ngraph TD\nA-->B\n```")).toBe(true);
    expect(fenceClosed("```mermaid\ngraph TD\nA-->B\n```\n")).toBe(true);
    expect(fenceClosed("~~~mermaid\nA\n~~~")).toBe(true);
    expect(fenceClosed("````\n```\n")).toBe(false);
  });
});

describe("Mermaid", () => {
  test("a streaming diagram shows its source and waits for the end of its block", () => {
    let asked = 0;
    setDiagramLoader(async () => {
      asked += 1;
      return { parse: async () => ({}), render: async () => ({ svg: "<svg></svg>" }) };
    });
    show(<Markdown source={"```mermaid\ngraph TD\nA-->"} final={false} />);
    expect(root.querySelector(".diagram-note")?.textContent).toBe("Diagram: drawn once its block is complete.");
    expect(root.querySelector(".diagram-source code")?.textContent).toBe("graph TD\nA-->");
    expect(asked).toBe(0);
  });

  test("a broken diagram (real Mermaid parser) says why and shows its source", async () => {
    show(<Markdown source={"```mermaid\ngraph TD; A-->\n```"} final={true} />);
    await until(() => root.querySelector(".diagram-error") !== null, "the diagram's error", 20_000);
    expect(root.querySelector(".diagram-error")?.textContent).toMatch(/^The diagram could not be drawn: Parse error on line/);
    expect(root.querySelector(".diagram-source code")?.textContent).toBe("graph TD; A-->");
    expect(root.querySelector(".diagram-drawing")).toBeNull();
    expect(root.querySelector(".diagram")?.getAttribute("aria-busy")).toBe("false");
  }, 30_000);

  test("the last good drawing stays when a later version of the diagram breaks", async () => {
    const fake: DiagramRenderer = {
      parse: async (code) => {
        if (code.includes("broken")) throw new Error("Parse error on line 1");
        return {};
      },
      render: async (_id, code) => ({ svg: `<svg data-code="${code.length}"><g></g></svg>` }),
    };
    setDiagramLoader(async () => fake);
    show(<MermaidBlock code={"graph TD\nA-->B"} complete={true} />);
    await until(() => root.querySelector(".diagram-drawing svg") !== null, "the drawing");
    show(<MermaidBlock code={"graph TD\nA-->B broken"} complete={true} />);
    await until(() => root.querySelector(".diagram-error") !== null, "the error");
    expect(root.querySelector(".diagram-drawing svg")?.getAttribute("data-code")).toBe("14");
    expect(root.querySelector(".diagram-error")?.textContent).toContain("Parse error on line 1");
  });

  test("a diagram is drawn again in the colours of a new theme", async () => {
    const themes: string[] = [];
    setDiagramLoader(async (theme) => {
      themes.push(theme);
      return { parse: async () => ({}), render: async () => ({ svg: `<svg data-theme="${theme}"></svg>` }) };
    });
    delete document.documentElement.dataset.theme;
    show(<MermaidBlock code={"graph TD\nA-->B"} complete={true} />);
    await until(() => root.querySelector("svg[data-theme=default]") !== null, "the light drawing");
    await act(async () => {
      document.documentElement.dataset.theme = "dark";
    });
    await until(() => root.querySelector("svg[data-theme=dark]") !== null, "the dark drawing");
    expect(themes).toEqual(["default", "dark"]);
    delete document.documentElement.dataset.theme;
  });

  test("a diagram that never finishes drawing is given up, the chat goes on", async () => {
    limits.timeoutMs = 50;
    setDiagramLoader(async () => ({ parse: async () => ({}), render: () => new Promise(() => undefined) }));
    show(<MermaidBlock code={"graph TD\nA-->B"} complete={true} />);
    await until(() => root.querySelector(".diagram-error") !== null, "the timeout");
    expect(root.querySelector(".diagram-error")?.textContent).toContain("took longer than 0.05 s");
  });
});

describe("ToolCard", () => {
  test("every argument type is shown by its kind", () => {
    const args = { city: "Paris", days: 3, ratio: 0.5, metric: true, note: null, tags: ["a", 2], when: { from: "mon", to: "fri" }, text: "line 1\nline 2", empty: [] };
    show(<ToolCard block={{ type: "tool_call", id: "call_1", name: "get_weather", text: JSON.stringify(args), done: true }} />);
    const card = root.querySelector(".tool-card")!;
    expect(card.getAttribute("aria-label")).toBe("Tool call: get_weather");
    expect(card.querySelector(".tool-id")?.textContent).toBe("call_1");
    const value = (key: string) => Array.from(card.querySelectorAll(".v-object > .v-entry")).find((entry) => entry.querySelector("dt")?.textContent === key)!.querySelector("dd > .v")!;
    expect(value("city").className).toBe("v v-string");
    expect(value("city").textContent).toBe("Paris");
    expect(value("days").className).toBe("v v-number");
    expect(value("ratio").textContent).toBe("0.5");
    expect(value("metric").className).toBe("v v-boolean");
    expect(value("note").className).toBe("v v-null");
    expect(value("tags").tagName).toBe("OL");
    expect(Array.from(value("tags").querySelectorAll(".v")).map((item) => item.className)).toEqual(["v v-string", "v v-number"]);
    expect(value("when").querySelectorAll("dt")).toHaveLength(2);
    expect(value("text").tagName).toBe("PRE");
    expect(value("empty").textContent).toBe("[] (empty list)");
  });

  test("arguments still streaming show as they arrive; invalid JSON says so once done", () => {
    show(<ToolCard block={{ type: "tool_call", name: "f", text: '{"a": ', done: false }} />);
    expect(root.querySelector(".tool-raw")?.textContent).toBe('{"a": ');
    expect(root.querySelector(".tool-status")?.textContent).toBe("receiving…");
    show(<ToolCard block={{ type: "tool_call", name: "f", text: '{"a": ', done: true }} />);
    expect(root.querySelector(".tool-warning")?.textContent).toBe("The arguments are not valid JSON:");
  });
});

describe("MessageView", () => {
  const noop = () => undefined;
  const view = (message: AssistantMessage) => (
    <MessageView message={message} last={true} busy={message.status === "streaming"} onEdit={noop} onRegenerate={noop} onToolResult={noop} />
  );

  test("reasoning is open while it streams and folds once it is done", () => {
    const streaming: AssistantMessage = { role: "assistant", status: "streaming", blocks: [{ type: "thinking", text: "Two plus", done: false }] };
    show(view(streaming));
    const thought = root.querySelector<HTMLDetailsElement>("details.thinking")!;
    expect(thought.open).toBe(true);
    expect(thought.querySelector("summary")?.textContent).toBe("Thinking…");
    expect(root.querySelector("article")?.getAttribute("aria-busy")).toBe("true");
    expect(root.querySelector(".actions")).toBeNull(); // no Regenerate while it streams

    const done: AssistantMessage = {
      role: "assistant",
      status: "done",
      blocks: [
        { type: "thinking", text: "Two plus three is five.", done: true },
        { type: "text", text: "The answer is 5.", done: true },
      ],
    };
    show(view(done));
    expect(root.querySelector<HTMLDetailsElement>("details.thinking")!.open).toBe(false);
    expect(root.querySelector("summary")?.textContent).toBe("Thought");
    expect(Array.from(root.querySelectorAll(".actions button")).map((button) => button.textContent)).toEqual(["Copy", "Regenerate"]);
  });

  test("a stopped answer says so; a failed one shows its error as an alert", () => {
    show(view({ role: "assistant", status: "stopped", blocks: [{ type: "text", text: "Once", done: true }] }));
    expect(root.querySelector(".note")?.textContent).toBe("Stopped.");
    show(view({ role: "assistant", status: "error", blocks: [], error: "Sending the message failed: HTTP 503." }));
    expect(root.querySelector("[role=alert]")?.textContent).toBe("Sending the message failed: HTTP 503.");
  });
});
