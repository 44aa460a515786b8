"""An LLM served by Flama: the bundled demo model at ``/llm/`` with its OpenAPI document and interactive docs.

Run it with ``uv run --no-sync python examples/generative_ai.py`` (``FLAMA_HOST``/``FLAMA_PORT`` change where it
listens), then ask it something::

    curl -s localhost:8000/llm/query/ -H 'content-type: application/json' \
      -d '{"messages": [{"role": "user", "content": "What is 2 + 3?"}], "template": {"enable_thinking": true}}''
"""

import os
from pathlib import Path

import flama
from flama import Flama

MODEL = Path(__file__).resolve().parent / "models" / "assistant.flm"

app = Flama(openapi={"title": "Generative AI", "version": "1.0.0"}, docs="/docs/")
app.models.add_model(path="/llm/", model=MODEL, name="assistant", params={"temperature": 0.0})

if __name__ == "__main__":
    flama.run(
        flama_app=app,
        server_host=os.environ.get("FLAMA_HOST", "127.0.0.1"),
        server_port=int(os.environ.get("FLAMA_PORT", "8000")),
    )
