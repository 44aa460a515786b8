// The chat: conversations (sidebar), the messages of the current one, the composer and the settings. Generation goes
// through the native dialect: POST stream/, then its events over SSE; Stop cancels it on the server (DELETE).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, Client, type ModelInfo, type StreamRequest } from "../api";
import { defaultSettings, type ChatConfig, type Settings } from "../config";
import { newConversation, titleFrom, toWire, type Conversation, type Message } from "../conversation";
import { Store } from "../store";
import { applyEvent, emptyAssistant, endStream, type AssistantMessage, type Block } from "../stream";
import { Composer } from "./Composer";
import { MessageView } from "./MessageView";
import { SettingsPanel, type Theme } from "./SettingsPanel";
import { Sidebar } from "./Sidebar";

interface Running {
  conversation: string;
  controller: AbortController;
  streamId?: string;
}

/** The tools setting as a list, or why it is not one. */
export function parseTools(text: string): { tools?: unknown[]; error: string | null } {
  if (!text.trim()) return { error: null };
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return { error: "Tools must be a JSON list of function definitions." };
    return { tools: value, error: null };
  } catch (error) {
    return { error: `Tools are not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const INTERRUPTED = "The page was closed while this answer was streaming.";

function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;
}

function resolveTheme(theme: Theme): "light" | "dark" {
  if (theme !== "system") return theme;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function App({ config }: { config: ChatConfig }) {
  const store = useMemo(() => new Store(config.storageKey), [config.storageKey]);
  const [settings, setSettings] = useState<Settings>(() => store.settings(defaultSettings(config)));
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const client = useMemo(() => new Client(new URL(config.apiBase, window.location.href).toString(), () => settingsRef.current.apiKey), [config.apiBase]);

  const [info, setInfo] = useState<ModelInfo | null>(null);
  const [infoError, setInfoError] = useState<string | null>(null);
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const conversationsRef = useRef<Conversation[]>([]);
  const [currentId, setCurrentId] = useState<string>("");
  const [loaded, setLoaded] = useState(false);
  const running = useRef<Running | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [theme, setTheme] = useState<Theme>(() => (store.theme as Theme | null) ?? "system");
  const [resolved, setResolved] = useState<"light" | "dark">(() => resolveTheme(theme));
  const messagesRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  const commit = (next: Conversation[]) => {
    conversationsRef.current = next;
    setConversations(next);
  };
  const update = (id: string, change: (conversation: Conversation) => Conversation, persist: boolean) => {
    const next = conversationsRef.current.map((conversation) => (conversation.id === id ? change(conversation) : conversation));
    commit(next);
    const saved = next.find((conversation) => conversation.id === id);
    if (persist && saved && saved.messages.length) void store.save(saved).catch(() => undefined);
  };

  // The conversations of earlier visits; an answer cut off by a reload is marked as such.
  useEffect(() => {
    let live = true;
    store
      .conversations()
      .catch(() => [] as Conversation[])
      .then((saved) => {
        if (!live) return;
        // An answer that was streaming when the page closed is followed again (the latest one; the server keeps a
        // stream a few minutes); any other is marked as cut off.
        let resume: { conversation: Conversation; streamId: string } | null = null;
        const restored = saved.map((conversation) => {
          const last = conversation.messages[conversation.messages.length - 1];
          if (!resume && last?.role === "assistant" && last.status === "streaming" && last.streamId) {
            resume = { conversation, streamId: last.streamId };
            return conversation;
          }
          return {
            ...conversation,
            messages: conversation.messages.map((message) =>
              message.role === "assistant" && message.status === "streaming" ? endStream(message, "stopped", INTERRUPTED) : message,
            ),
          };
        });
        const first = restored[0] ?? newConversation();
        commit(restored.length ? restored : [first]);
        setCurrentId(first.id);
        setLoaded(true);
        if (resume) {
          const { conversation, streamId } = resume as { conversation: Conversation; streamId: string };
          void generate(conversation.id, conversation.messages.slice(0, -1), undefined, streamId);
        }
      });
    return () => {
      live = false;
    };
  }, [store]);

  // The model's name and capabilities; while it loads, asked again every two seconds.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const controller = new AbortController();
    const ask = () => {
      client.info(controller.signal).then(
        (answer) => {
          setInfo(answer);
          setInfoError(answer.ready ? null : "The model is loading…");
          if (!answer.ready) timer = setTimeout(ask, 2000);
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setInfoError(describe(error));
          timer = setTimeout(ask, 5000);
        },
      );
    };
    ask();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [client, settings.apiKey]);

  useEffect(() => {
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    const apply = () => setResolved(resolveTheme(theme));
    apply();
    media?.addEventListener("change", apply);
    return () => media?.removeEventListener("change", apply);
  }, [theme]);

  useEffect(() => {
    const root = document.documentElement;
    root.dataset.theme = resolved;
    const colors = resolved === "dark" ? { ...config.colors, ...config.darkColors } : config.colors;
    for (const [name, value] of Object.entries(colors)) root.style.setProperty(`--${name.replace(/_/g, "-")}`, value);
    return () => {
      for (const name of Object.keys(colors)) root.style.removeProperty(`--${name.replace(/_/g, "-")}`);
    };
  }, [resolved, config]);

  useEffect(() => {
    document.title = config.title;
  }, [config.title]);

  const current = conversations.find((conversation) => conversation.id === currentId) ?? null;

  useEffect(() => {
    const element = messagesRef.current;
    if (element && stickToBottom.current) element.scrollTop = element.scrollHeight;
  }, [current]);

  const tools = parseTools(settings.tools);

  const request = (history: Message[]): StreamRequest => {
    const body: StreamRequest = { messages: toWire(history, settings.systemPrompt) };
    const params: Record<string, number> = {};
    if (settings.temperature !== null) params.temperature = settings.temperature;
    if (settings.topP !== null) params.top_p = settings.topP;
    if (settings.maxTokens !== null) params.max_tokens = settings.maxTokens;
    if (Object.keys(params).length) body.params = params;
    if (info?.capabilities.reasoning) body.template = { enable_thinking: settings.thinking };
    if (tools.tools?.length && info?.capabilities.tools !== false) body.tools = tools.tools;
    return body;
  };

  /** Generate the answer to `history`; with `resume`, follow that stream (started before a reload) from its start. */
  const generate = async (id: string, history: Message[], title?: string, resume?: string) => {
    if (running.current) return;
    stickToBottom.current = true;
    const controller = new AbortController();
    const run: Running = { conversation: id, controller };
    running.current = run;
    setBusy(id);
    let answer: AssistantMessage = emptyAssistant(resume);
    const put = (persist: boolean) =>
      update(id, (conversation) => ({ ...conversation, title: title ?? conversation.title, messages: [...history, answer], updated: Date.now() }), persist);
    let scheduled = false;
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        if (running.current === run) put(false);
      });
    };
    put(true);
    try {
      if (!resume && tools.error) throw new ApiError(0, `${tools.error} Fix it in Settings.`);
      const streamId = resume ?? (await client.open(request(history), controller.signal));
      run.streamId = streamId;
      answer = { ...answer, streamId };
      // The stream's id is kept, so that a reload follows the answer again (the server replays it from the start).
      put(true);
      for await (const event of client.events(streamId, controller.signal)) {
        answer = applyEvent(answer, event);
        schedule();
      }
      answer = endStream(answer, "error", "The answer ended before it was complete.");
    } catch (error) {
      if (controller.signal.aborted) answer = endStream(answer, "stopped");
      else if (resume && error instanceof ApiError && error.status === 404) answer = endStream(answer, "stopped", INTERRUPTED);
      else answer = endStream(answer, "error", describe(error));
    } finally {
      running.current = null;
      setBusy(null);
      put(true);
    }
  };

  const stop = async () => {
    const run = running.current;
    if (!run) return;
    if (!run.streamId) {
      run.controller.abort();
      return;
    }
    try {
      // The server ends the stream with a "cancelled" event, which the reader turns into "Stopped".
      await client.cancel(run.streamId);
    } catch {
      run.controller.abort();
      return;
    }
    setTimeout(() => run.controller.abort(), 3000);
  };

  const send = (text: string) => {
    if (!current) return;
    const first = !current.messages.length;
    void generate(current.id, [...current.messages, { role: "user", content: text }], first ? titleFrom(text) : undefined);
  };

  const regenerate = () => {
    if (!current) return;
    let end = current.messages.length;
    while (end > 0 && current.messages[end - 1]?.role === "assistant") end -= 1;
    if (end) void generate(current.id, current.messages.slice(0, end));
  };

  const edit = (index: number, content: string) => {
    if (!current) return;
    const history: Message[] = [...current.messages.slice(0, index), { role: "user", content }];
    void generate(current.id, history, index === 0 ? titleFrom(content) : undefined);
  };

  const toolResult = (block: Block, result: string) => {
    if (!current) return;
    void generate(current.id, [...current.messages, { role: "tool", content: result, name: block.name, toolCallId: block.id }]);
  };

  const newChat = () => {
    setSidebarOpen(false);
    if (current && !current.messages.length) return;
    const conversation = newConversation();
    commit([conversation, ...conversationsRef.current]);
    setCurrentId(conversation.id);
    document.getElementById("prompt")?.focus();
  };

  const remove = (id: string) => {
    void store.remove(id).catch(() => undefined);
    const rest = conversationsRef.current.filter((conversation) => conversation.id !== id);
    if (!rest.length) rest.push(newConversation());
    commit(rest);
    if (id === currentId) setCurrentId(rest[0]?.id ?? "");
  };

  const changeSettings = (next: Settings) => {
    setSettings(next);
    store.saveSettings(next);
  };

  const changeTheme = (next: Theme) => {
    setTheme(next);
    store.theme = next === "system" ? null : next;
  };

  const sorted = [...conversations].sort((a, b) => b.updated - a.updated);
  const messages = current?.messages ?? [];
  const isBusy = busy !== null;

  return (
    <div
      class="app"
      onKeyDown={(event) => {
        if (event.key === "Escape" && sidebarOpen) setSidebarOpen(false);
      }}
    >
      <a class="skip-link" href="#prompt">
        Skip to the message box
      </a>
      <Sidebar
        conversations={sorted}
        current={currentId}
        open={sidebarOpen}
        onNew={newChat}
        onSelect={(id) => {
          setCurrentId(id);
          setSidebarOpen(false);
        }}
        onRename={(id, title) => update(id, (conversation) => ({ ...conversation, title }), true)}
        onDelete={remove}
        onClose={() => setSidebarOpen(false)}
      />
      <main class="chat">
        <header class="topbar">
          <button
            type="button"
            class="icon menu"
            aria-label="Conversations"
            aria-controls="sidebar"
            aria-expanded={sidebarOpen}
            onClick={() => setSidebarOpen(!sidebarOpen)}
          >
            ☰
          </button>
          {config.logo ? <img class="logo" src={config.logo} alt="" /> : null}
          <h1>{config.title}</h1>
          <span class="model-name">{info && info.name !== config.title ? info.name : ""}</span>
          <button
            type="button"
            class="icon"
            aria-label={resolved === "dark" ? "Use the light theme" : "Use the dark theme"}
            title="Theme"
            onClick={() => changeTheme(resolved === "dark" ? "light" : "dark")}
          >
            {resolved === "dark" ? "☀" : "☾"}
          </button>
          <button type="button" class="icon" aria-label="Settings" aria-expanded={settingsOpen} onClick={() => setSettingsOpen(!settingsOpen)}>
            ⚙
          </button>
        </header>
        {infoError ? (
          <div class="banner" role="alert">
            {infoError}
          </div>
        ) : null}
        <div
          class="messages"
          ref={messagesRef}
          role="log"
          aria-label="Messages"
          onScroll={(event) => {
            const element = event.currentTarget;
            stickToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
          }}
        >
          <div class="messages-inner">
            {loaded && !messages.length ? (
              <div class="empty">
                <h2>{config.title}</h2>
                <p>{info ? `Ask ${info.name} anything.` : "Ask anything."}</p>
                {config.suggestions.length ? (
                  <ul class="suggestions" aria-label="Suggested prompts">
                    {config.suggestions.map((suggestion) => (
                      <li key={suggestion}>
                        <button type="button" disabled={isBusy} onClick={() => send(suggestion)}>
                          {suggestion}
                        </button>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </div>
            ) : null}
            {messages.map((message, index) => (
              <MessageView
                key={`${currentId}-${index}`}
                message={message}
                last={index === messages.length - 1}
                busy={isBusy}
                onEdit={(content) => edit(index, content)}
                onRegenerate={regenerate}
                onToolResult={toolResult}
              />
            ))}
          </div>
        </div>
        <Composer busy={busy === currentId} disabled={!loaded || (isBusy && busy !== currentId)} onSend={send} onStop={() => void stop()} />
      </main>
      {settingsOpen ? (
        <SettingsPanel
          settings={settings}
          info={info}
          theme={theme}
          toolsError={tools.error}
          onChange={changeSettings}
          onTheme={changeTheme}
          onClose={() => setSettingsOpen(false)}
        />
      ) : null}
    </div>
  );
}
