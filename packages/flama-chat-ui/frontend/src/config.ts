// The app's configuration: what the server injects into index.html (`<script id="flama-chat-config">`, written by
// flama.chat_ui from the options given in Python), over the build's defaults. A standalone build sets `VITE_FLAMA_URL`
// to the model's address instead.

export interface Settings {
  systemPrompt: string;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  thinking: boolean;
  /** Tool definitions (JSON, OpenAI style) sent with every request; empty for none. */
  tools: string;
  apiKey: string;
}

export interface ChatConfig {
  title: string;
  logo: string | null;
  colors: Record<string, string>;
  darkColors: Record<string, string>;
  systemPrompt: string;
  suggestions: string[];
  tools: unknown[];
  params: { temperature?: number; top_p?: number; max_tokens?: number };
  /** The model's native API, absolute or relative to the page; "../" when served at `U/chat/`. */
  apiBase: string;
  /** Names the browser database, so that two models on one origin keep apart histories. */
  storageKey: string;
}

export const DEFAULT_CONFIG: ChatConfig = {
  title: "Flama chat",
  logo: null,
  colors: {},
  darkColors: {},
  systemPrompt: "",
  suggestions: [],
  tools: [],
  params: {},
  apiBase: import.meta.env.VITE_FLAMA_URL || "../",
  storageKey: "",
};

function object(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(object(value)).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/** The configuration from `raw` (the injected JSON, snake_case as Python writes it), over the defaults. */
export function parseConfig(raw: unknown): ChatConfig {
  const given = object(raw);
  const text = (key: string, fallback: string): string => (typeof given[key] === "string" ? (given[key] as string) : fallback);
  const params = object(given.params);
  const numeric = Object.fromEntries(Object.entries(params).filter((entry) => typeof entry[1] === "number"));
  return {
    title: text("title", DEFAULT_CONFIG.title),
    logo: typeof given.logo === "string" ? given.logo : null,
    colors: strings(given.colors),
    darkColors: strings(given.dark_colors),
    systemPrompt: text("system_prompt", DEFAULT_CONFIG.systemPrompt),
    suggestions: Array.isArray(given.suggestions) ? given.suggestions.filter((item): item is string => typeof item === "string") : [],
    tools: Array.isArray(given.tools) ? given.tools : [],
    params: numeric,
    apiBase: text("api_base", DEFAULT_CONFIG.apiBase),
    storageKey: text("storage_key", DEFAULT_CONFIG.storageKey),
  };
}

/** The configuration the page was served with. */
export function readConfig(document: Document): ChatConfig {
  const element = document.getElementById("flama-chat-config");
  let raw: unknown = {};
  try {
    raw = JSON.parse(element?.textContent || "{}");
  } catch {
    raw = {};
  }
  return parseConfig(raw);
}

/** The settings a new browser starts with, from the configuration. */
export function defaultSettings(config: ChatConfig): Settings {
  return {
    systemPrompt: config.systemPrompt,
    temperature: config.params.temperature ?? null,
    topP: config.params.top_p ?? null,
    maxTokens: config.params.max_tokens ?? null,
    thinking: true,
    tools: config.tools.length ? JSON.stringify(config.tools, null, 2) : "",
    apiKey: "",
  };
}
