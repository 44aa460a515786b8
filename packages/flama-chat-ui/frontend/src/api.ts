// The native dialect of one Flama language model, at `base` (the model's path, ending in "/"):
// `GET base` (model info), `POST base/stream/` then `GET base/stream/{id}/` (SSE), `DELETE base/stream/{id}/` (Stop).

import { SSEParser } from "./sse";
import { describeDetail, type StreamEvent } from "./stream";

export interface ModelInfo {
  name: string;
  ready: boolean;
  capabilities: Record<string, unknown>;
  params: Record<string, unknown>;
  context_length?: number | null;
  backend?: string | null;
}

export interface WireMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | Record<string, unknown> | unknown[];
  reasoning_content?: string;
  tool_calls?: { id?: string; type: "function"; function: { name: string; arguments: unknown } }[];
  tool_call_id?: string;
  name?: string;
}

export interface StreamRequest {
  messages: WireMessage[];
  tools?: unknown[];
  params?: Record<string, number>;
  template?: Record<string, unknown>;
}

/** An HTTP error with what the server said, worded for the person using the chat. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const HINTS: Record<number, string> = {
  401: "This model needs an API key: set it in Settings.",
  403: "The API key was refused.",
  404: "Nothing answers there: the model's address is wrong, or the answer expired on the server.",
  429: "The model is busy with other requests; try again in a moment.",
  503: "The model is still loading; try again in a moment.",
};

async function failure(response: Response, action: string): Promise<ApiError> {
  let detail = "";
  try {
    const body: unknown = await response.json();
    detail = describeDetail(typeof body === "object" && body !== null ? (body as Record<string, unknown>).detail : undefined);
  } catch {
    // Not JSON (a proxy's page, say): the status says enough.
  }
  const hint = HINTS[response.status];
  const parts = [`${action} failed: HTTP ${response.status}${detail ? ` — ${detail}` : ""}.`];
  if (hint) parts.push(hint);
  return new ApiError(response.status, parts.join(" "));
}

function unreachable(action: string, error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(0, `${action} failed: the server could not be reached (${reason}).`);
}

const RESUME_ATTEMPTS = 3;

export class Client {
  constructor(
    readonly base: string,
    private readonly apiKey: () => string = () => "",
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.apiKey();
    return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
  }

  private url(path: string): string {
    return new URL(path, this.base).toString();
  }

  private async send(action: string, path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.url(path), init);
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw unreachable(action, error);
    }
    if (!response.ok) throw await failure(response, action);
    return response;
  }

  /** The model's name, capabilities and default parameters. */
  async info(signal?: AbortSignal): Promise<ModelInfo> {
    const response = await this.send("Reading the model", "./", { headers: this.headers(), signal });
    return (await response.json()) as ModelInfo;
  }

  /** Start a generation; resolves to its stream id once the server admits it. */
  async open(request: StreamRequest, signal?: AbortSignal): Promise<string> {
    const response = await this.send("Sending the message", "stream/", {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(request),
      signal,
    });
    const body = (await response.json()) as { id?: unknown };
    if (typeof body.id !== "string") throw new ApiError(response.status, "The server answered without a stream id.");
    return body.id;
  }

  /**
   * The stream's events until it ends. A dropped connection is resumed with `Last-Event-ID` (a few times), so no
   * event is lost or repeated.
   */
  async *events(id: string, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    let lastId: string | undefined;
    let attempts = 0;
    for (;;) {
      const headers = this.headers({ Accept: "text/event-stream" });
      if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
      let response: Response;
      try {
        response = await this.send("Reading the answer", `stream/${encodeURIComponent(id)}/`, { headers, signal });
      } catch (error) {
        if (error instanceof ApiError && error.status === 0 && attempts++ < RESUME_ATTEMPTS) continue;
        throw error;
      }
      if (response.body === null) throw new ApiError(response.status, "The answer arrived without a body.");
      const parser = new SSEParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let ended = false;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of parser.push(value)) {
            if (message.id !== undefined) lastId = message.id;
            let data: unknown = null;
            try {
              data = JSON.parse(message.data);
            } catch {
              data = message.data;
            }
            if (message.event === "message.stop" || message.event === "error") ended = true;
            yield { event: message.event, data };
          }
        }
      } catch (error) {
        if (signal.aborted) throw error;
        if (attempts++ >= RESUME_ATTEMPTS) throw unreachable("Reading the answer", error);
        continue;
      } finally {
        reader.releaseLock();
      }
      if (ended) return;
      // The server closed the stream before its end (a restart, a proxy's timeout): resume where it stopped.
      if (attempts++ >= RESUME_ATTEMPTS) {
        throw new ApiError(0, "The answer stopped arriving before it was complete.");
      }
    }
  }

  /** Cancel a generation on the server (Stop). */
  async cancel(id: string): Promise<void> {
    await this.send("Stopping the answer", `stream/${encodeURIComponent(id)}/`, {
      method: "DELETE",
      headers: this.headers(),
    });
  }
}
