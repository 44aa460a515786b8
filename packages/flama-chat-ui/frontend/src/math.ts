// KaTeX, loaded the first time an answer holds math (its script, stylesheet and fonts are a chunk of their own).

type Katex = typeof import("katex").default;

let loading: Promise<Katex> | null = null;

function loadKatex(): Promise<Katex> {
  loading ??= Promise.all([import("katex"), import("katex/dist/katex.min.css")]).then(([module]) => module.default);
  return loading;
}

/** Typeset every math placeholder under `root` that is not typeset yet; a formula KaTeX rejects shows its error. */
export async function typesetMath(root: HTMLElement): Promise<void> {
  const pending = Array.from(root.querySelectorAll<HTMLElement>(".math[data-tex]:not([data-typeset])"));
  if (!pending.length) return;
  const katex = await loadKatex();
  for (const element of pending) {
    if (!element.isConnected) continue;
    const tex = element.dataset.tex ?? "";
    katex.render(tex, element, {
      displayMode: element.classList.contains("math-display"),
      throwOnError: false,
      trust: false,
      strict: "ignore",
    });
    element.dataset.typeset = "";
  }
}
