// The system prompt and generation settings; an empty number means the model's default.

import type { ModelInfo } from "../api";
import type { Settings } from "../config";

export type Theme = "system" | "light" | "dark";

interface SettingsProps {
  settings: Settings;
  info: ModelInfo | null;
  theme: Theme;
  toolsError: string | null;
  onChange: (settings: Settings) => void;
  onTheme: (theme: Theme) => void;
  onClose: () => void;
}

function numberOrNull(text: string): number | null {
  if (text.trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function SettingsPanel({ settings, info, theme, toolsError, onChange, onTheme, onClose }: SettingsProps) {
  const set = <K extends keyof Settings>(key: K, value: Settings[K]) => onChange({ ...settings, [key]: value });
  const capabilities = info?.capabilities ?? {};
  const defaults = info?.params ?? {};
  // An empty field means the model's default, shown as the placeholder when the model says what it is.
  const placeholder = (key: string) => (defaults[key] === undefined || defaults[key] === null ? "default" : String(defaults[key]));
  return (
    <form
      class="settings"
      aria-label="Settings"
      onSubmit={(event) => event.preventDefault()}
      onKeyDown={(event) => event.key === "Escape" && onClose()}
    >
      <div class="settings-head">
        <h2>Settings</h2>
        <button type="button" class="icon" aria-label="Close settings" onClick={onClose} ref={(element) => element?.focus()}>
          ✕
        </button>
      </div>
      <label>
        <span>System prompt</span>
        <textarea rows={4} value={settings.systemPrompt} onInput={(event) => set("systemPrompt", event.currentTarget.value)} />
      </label>
      <div class="row">
        <label>
          <span>Temperature</span>
          <input
            type="number"
            min={0}
            max={2}
            step={0.1}
            value={settings.temperature ?? ""}
            placeholder={placeholder("temperature")}
            onInput={(event) => set("temperature", numberOrNull(event.currentTarget.value))}
          />
        </label>
        <label>
          <span>Top p</span>
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={settings.topP ?? ""}
            placeholder={placeholder("top_p")}
            onInput={(event) => set("topP", numberOrNull(event.currentTarget.value))}
          />
        </label>
        <label>
          <span>Max tokens</span>
          <input
            type="number"
            min={1}
            step={1}
            value={settings.maxTokens ?? ""}
            placeholder={placeholder("max_tokens")}
            onInput={(event) => set("maxTokens", numberOrNull(event.currentTarget.value))}
          />
        </label>
      </div>
      {capabilities.reasoning ? (
        <label class="check">
          <input type="checkbox" checked={settings.thinking} onChange={(event) => set("thinking", event.currentTarget.checked)} />
          <span>Thinking (the model reasons before it answers)</span>
        </label>
      ) : null}
      {capabilities.tools ? (
        <label>
          <span>Tools (JSON list of function definitions)</span>
          <textarea
            rows={5}
            class="mono"
            value={settings.tools}
            placeholder='[{"type": "function", "function": {"name": "get_weather", "parameters": {...}}}]'
            aria-invalid={toolsError !== null}
            aria-describedby={toolsError ? "tools-error" : undefined}
            onInput={(event) => set("tools", event.currentTarget.value)}
          />
          {toolsError ? (
            <span id="tools-error" class="field-error">
              {toolsError}
            </span>
          ) : null}
        </label>
      ) : null}
      <label>
        <span>API key (when the model needs one; kept in this browser)</span>
        <input type="password" autoComplete="off" value={settings.apiKey} onInput={(event) => set("apiKey", event.currentTarget.value)} />
      </label>
      <label>
        <span>Theme</span>
        <select value={theme} onChange={(event) => onTheme(event.currentTarget.value as Theme)}>
          <option value="system">Same as the system</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
      {info ? (
        <p class="model-facts">
          {info.name}
          {info.backend ? ` · ${info.backend}` : ""}
          {info.context_length ? ` · ${info.context_length} tokens of context` : ""}
        </p>
      ) : null}
    </form>
  );
}
