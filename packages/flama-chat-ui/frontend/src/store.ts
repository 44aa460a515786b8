// Conversations in IndexedDB (one database per model, named by the configuration's storage key); settings in
// localStorage. A browser without storage (private mode) still chats, it just forgets.

import { createStore, del, get, set, values, type UseStore } from "idb-keyval";
import type { Settings } from "./config";
import type { Conversation } from "./conversation";

export class Store {
  private readonly db: UseStore;
  private readonly settingsKey: string;

  constructor(key: string) {
    const suffix = key ? `:${key}` : "";
    this.db = createStore(`flama-chat${suffix}`, "conversations");
    this.settingsKey = `flama-chat-settings${suffix}`;
  }

  async conversations(): Promise<Conversation[]> {
    const all = (await values(this.db)) as Conversation[];
    return all.sort((a, b) => b.updated - a.updated);
  }

  async conversation(id: string): Promise<Conversation | undefined> {
    return (await get(id, this.db)) as Conversation | undefined;
  }

  async save(conversation: Conversation): Promise<void> {
    await set(conversation.id, conversation, this.db);
  }

  async remove(id: string): Promise<void> {
    await del(id, this.db);
  }

  settings(fallback: Settings): Settings {
    try {
      const saved: unknown = JSON.parse(localStorage.getItem(this.settingsKey) ?? "null");
      return typeof saved === "object" && saved !== null ? { ...fallback, ...(saved as Partial<Settings>) } : fallback;
    } catch {
      return fallback;
    }
  }

  saveSettings(settings: Settings): void {
    try {
      localStorage.setItem(this.settingsKey, JSON.stringify(settings));
    } catch {
      // Storage full or refused: the settings last for this page only.
    }
  }

  get theme(): string | null {
    try {
      return localStorage.getItem("flama-chat-theme");
    } catch {
      return null;
    }
  }

  set theme(value: string | null) {
    try {
      if (value === null) localStorage.removeItem("flama-chat-theme");
      else localStorage.setItem("flama-chat-theme", value);
    } catch {
      // As above.
    }
  }
}
