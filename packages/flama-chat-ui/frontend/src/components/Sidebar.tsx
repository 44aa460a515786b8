// The conversations kept in this browser: start a new one, switch, rename, delete.

import { useState } from "preact/hooks";
import type { Conversation } from "../conversation";

interface SidebarProps {
  conversations: Conversation[];
  current: string;
  open: boolean;
  onNew: () => void;
  onSelect: (id: string) => void;
  onRename: (id: string, title: string) => void;
  onDelete: (id: string) => void;
  onClose: () => void;
}

function Item({ conversation, current, onSelect, onRename, onDelete }: { conversation: Conversation; current: boolean } & Pick<SidebarProps, "onSelect" | "onRename" | "onDelete">) {
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  if (renaming) {
    return (
      <li class="conversation renaming">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setRenaming(false);
            if (title.trim()) onRename(conversation.id, title.trim());
          }}
        >
          <label class="visually-hidden" for={`rename-${conversation.id}`}>
            New name
          </label>
          <input
            id={`rename-${conversation.id}`}
            value={title}
            onInput={(event) => setTitle(event.currentTarget.value)}
            onKeyDown={(event) => event.key === "Escape" && setRenaming(false)}
            ref={(element) => element?.focus()}
          />
          <button type="submit">Save</button>
        </form>
      </li>
    );
  }
  return (
    <li class={`conversation${current ? " current" : ""}`}>
      <button type="button" class="conversation-title" aria-current={current ? "page" : undefined} onClick={() => onSelect(conversation.id)}>
        {conversation.title}
      </button>
      <button
        type="button"
        class="icon"
        aria-label={`Rename ${conversation.title}`}
        title="Rename"
        onClick={() => {
          setTitle(conversation.title);
          setRenaming(true);
        }}
      >
        ✎
      </button>
      <button
        type="button"
        class="icon"
        aria-label={`Delete ${conversation.title}`}
        title="Delete"
        onClick={() => {
          if (window.confirm(`Delete "${conversation.title}"?`)) onDelete(conversation.id);
        }}
      >
        ✕
      </button>
    </li>
  );
}

export function Sidebar({ conversations, current, open, onNew, onSelect, onRename, onDelete, onClose }: SidebarProps) {
  return (
    <>
      <nav id="sidebar" class={`sidebar${open ? " open" : ""}`} aria-label="Conversations">
        <button type="button" class="new-chat primary" onClick={onNew}>
          + New chat
        </button>
        <ul>
          {conversations.map((conversation) => (
            <Item
              key={conversation.id}
              conversation={conversation}
              current={conversation.id === current}
              onSelect={onSelect}
              onRename={onRename}
              onDelete={onDelete}
            />
          ))}
        </ul>
      </nav>
      {open ? <div class="scrim" aria-hidden="true" onClick={onClose} /> : null}
    </>
  );
}
