// Where the person writes: Enter sends, Shift+Enter starts a new line; Stop replaces Send while the model answers.

import { useState } from "preact/hooks";

interface ComposerProps {
  busy: boolean;
  disabled: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
}

export function Composer({ busy, disabled, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState("");
  const send = () => {
    if (busy || disabled || !text.trim()) return;
    onSend(text);
    setText("");
  };
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label class="visually-hidden" for="prompt">
        Message
      </label>
      <textarea
        id="prompt"
        rows={1}
        placeholder="Message the model"
        aria-describedby="prompt-keys"
        value={text}
        onInput={(event) => {
          const area = event.currentTarget;
          setText(area.value);
          area.style.height = "auto";
          area.style.height = `${Math.min(area.scrollHeight, 240)}px`;
        }}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      <span id="prompt-keys" class="visually-hidden">
        Enter sends the message; Shift+Enter starts a new line.
      </span>
      {busy ? (
        <button type="button" class="stop" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="submit" class="primary" disabled={disabled || !text.trim()}>
          Send
        </button>
      )}
    </form>
  );
}
