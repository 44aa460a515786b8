// Mermaid, loaded the first time an answer holds a complete diagram. A diagram that does not parse fails fast (the
// parser runs first), and one that takes too long to lay out is given up after a timeout, so a broken diagram never
// hangs the chat.

export interface DiagramRenderer {
  parse(code: string): Promise<unknown>;
  render(id: string, code: string): Promise<{ svg: string }>;
}

type Loader = (theme: "dark" | "default") => Promise<DiagramRenderer>;

let loading: Promise<typeof import("mermaid").default> | null = null;

const loadMermaid: Loader = async (theme) => {
  loading ??= import("mermaid").then((module) => module.default);
  const mermaid = await loading;
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme, fontFamily: "inherit" });
  return mermaid;
};

let loader: Loader = loadMermaid;

/** Replace the Mermaid loader (tests give a fake one); `null` restores the real one. */
export function setDiagramLoader(next: Loader | null): void {
  loader = next ?? loadMermaid;
}

/** How long a diagram may take to load and draw before it is given up (tests shorten it). */
export const limits = { timeoutMs: 10_000 };

let counter = 0;

function timeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the diagram took longer than ${ms / 1000} s to draw`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** The diagram as SVG markup; rejects with Mermaid's message for a diagram it cannot draw. */
export async function renderDiagram(code: string, dark: boolean, ms: number = limits.timeoutMs): Promise<string> {
  const id = `flama-mermaid-${++counter}`;
  try {
    const mermaid = await timeout(loader(dark ? "dark" : "default"), ms);
    await timeout(mermaid.parse(code), ms);
    const { svg } = await timeout(mermaid.render(id, code), ms);
    return svg;
  } finally {
    // Mermaid draws in a scratch element of the document's body, which a failure can leave behind.
    document.getElementById(id)?.remove();
    document.getElementById(`d${id}`)?.remove();
  }
}
