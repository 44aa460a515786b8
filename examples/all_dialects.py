"""The demo model served in all four dialects: native, OpenAI, Anthropic and Ollama, for their official SDKs.

Run it with ``uv run --no-sync python examples/all_dialects.py`` (``FLAMA_HOST``/``FLAMA_PORT`` change where it
listens), then point any of the official clients at it::

    import openai, anthropic, ollama

    openai.OpenAI(base_url="http://127.0.0.1:8000/llm/openai/v1", api_key="unused").chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "Hello! Who are you?"}]
    )
    anthropic.Anthropic(base_url="http://127.0.0.1:8000/llm/anthropic", api_key="unused").messages.create(
        model="assistant", max_tokens=64, messages=[{"role": "user", "content": "Hello! Who are you?"}]
    )
    ollama.Client(host="http://127.0.0.1:8000/llm/ollama").chat(
        model="assistant", messages=[{"role": "user", "content": "Hello! Who are you?"}]
    )
"""

import os
from pathlib import Path

import flama
from flama import Flama

MODEL = Path(__file__).resolve().parent / "models" / "assistant.flm"

app = Flama(
    openapi={"info": {"title": "All dialects", "version": "1.0.0", "description": "One model, four APIs."}},
    docs="/docs/",
)
app.models.add_model(
    path="/llm/",
    model=MODEL,
    name="assistant",
    serving=("native", "openai", "anthropic", "ollama"),
    params={"temperature": 0.0},
)

if __name__ == "__main__":
    flama.run(
        flama_app=app,
        server_host=os.environ.get("FLAMA_HOST", "127.0.0.1"),
        server_port=int(os.environ.get("FLAMA_PORT", "8000")),
    )
