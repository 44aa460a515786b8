"""A route of your own that uses the served LLM: ``POST /summary/`` asks the demo model to summarise a text.

The model is injected by type (``LanguageModel``, as Flama 2.x injects models with ``ModelComponent``) and called
the way its own ``/llm/query/`` route calls it: same parameters, same admission limit, same metrics. Run it with
``uv run --no-sync python examples/summarise.py``, then::

    curl -s localhost:8000/summary/ -H 'content-type: application/json' -d '{"text": "Flames dance in lanterns."}'
"""

import os
from pathlib import Path

import flama
import pydantic
from flama import Flama
from flama.llm import LanguageModel

MODEL = Path(__file__).resolve().parent / "models" / "assistant.flm"
INSTRUCTION = "Summarise the user's text in one sentence."

app = Flama(openapi={"title": "Summaries", "version": "1.0.0"})
app.models.add_model(path="/llm/", model=MODEL, name="assistant", params={"temperature": 0.0})


class Text(pydantic.BaseModel):
    """The text to summarise."""

    text: str


class Summary(pydantic.BaseModel):
    """The model's summary."""

    summary: str


def conversation(text: str) -> list[dict[str, str]]:
    """The messages that ask for a summary of ``text``."""
    return [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": text}]


@app.route("/summary/", methods=["POST"])
async def summary(model: LanguageModel, body: Text) -> Summary:
    """Summarise a text with the served model."""
    completion = await model.query(
        messages=conversation(body.text), params={"max_tokens": 48}, template={"enable_thinking": False}
    )
    return Summary(summary=completion.text.strip())


if __name__ == "__main__":
    flama.run(
        flama_app=app,
        server_host=os.environ.get("FLAMA_HOST", "127.0.0.1"),
        server_port=int(os.environ.get("FLAMA_PORT", "8000")),
    )
