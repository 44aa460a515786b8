// A Mermaid diagram: its source while the block streams, the drawing once the block is complete. A diagram that
// cannot be drawn says why and shows its source; the last good drawing stays on screen.

import { useEffect, useState } from "preact/hooks";
import { codeBlockHtml } from "../markdown";
import { renderDiagram } from "../mermaid";

interface Drawing {
  svg: string | null;
  error: string | null;
  drawing: boolean;
}

function isDark(): boolean {
  return document.documentElement.dataset.theme === "dark";
}

/** Whether the page shows its dark theme, following changes (a diagram is drawn again in the other theme's colours). */
function useDark(): boolean {
  const [dark, setDark] = useState(isDark);
  useEffect(() => {
    const observer = new MutationObserver(() => setDark(isDark()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return dark;
}

export function MermaidBlock({ code, complete }: { code: string; complete: boolean }) {
  const [state, setState] = useState<Drawing>({ svg: null, error: null, drawing: false });
  const dark = useDark();

  useEffect(() => {
    if (!complete) return;
    let live = true;
    setState((previous) => ({ ...previous, drawing: true }));
    renderDiagram(code, dark).then(
      (svg) => live && setState({ svg, error: null, drawing: false }),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (live) setState((previous) => ({ svg: previous.svg, error: message.split("\n")[0] ?? message, drawing: false }));
      },
    );
    return () => {
      live = false;
    };
  }, [code, complete, dark]);

  const source = <div class="diagram-source" dangerouslySetInnerHTML={{ __html: codeBlockHtml(code, "mermaid") }} />;
  return (
    <figure class="diagram" aria-busy={state.drawing || !complete}>
      {state.svg !== null ? (
        <div class="diagram-drawing" role="img" aria-label="Diagram" dangerouslySetInnerHTML={{ __html: state.svg }} />
      ) : null}
      {!complete ? <figcaption class="diagram-note">Diagram: drawn once its block is complete.</figcaption> : null}
      {complete && state.drawing && state.svg === null ? <figcaption class="diagram-note">Drawing the diagram…</figcaption> : null}
      {state.error !== null ? (
        <figcaption class="diagram-error" role="note">
          The diagram could not be drawn: {state.error}
        </figcaption>
      ) : null}
      {state.svg === null ? source : (
        <details class="diagram-details">
          <summary>Diagram source</summary>
          {source}
        </details>
      )}
    </figure>
  );
}
