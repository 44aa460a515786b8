"""flama-llm mounts the chat page at each model's ``chat/`` (native dialect), with the options given to add_model."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flama.chat_ui import ChatUI
from flama.http import Flama
from flama.models.module import ModelsModule

DEMO = Path(__file__).resolve().parents[2] / "examples" / "models" / "assistant.flm"


def app_with(**options: Any) -> Flama:
    app = Flama(schema=None, docs=None)
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    models.add_model(path="/llm/", model=DEMO, name="assistant", **options)
    return app


class TestCaseMount:
    async def test_default_page(self, client_factory):
        async with client_factory(app_with()) as client:
            redirect = await client.get("/llm/chat")
            page = await client.get("/llm/chat/")
        assert redirect.status_code == 308
        assert redirect.headers["location"] == "/llm/chat/"
        assert page.status_code == 200
        config = json.loads(re.search(r'type="application/json">(.*?)</script>', page.text).group(1))  # type: ignore[union-attr]
        assert config["title"] == "assistant"
        assert config["api_base"] == "../"
        assert config["storage_key"] == "/llm/"

    @pytest.mark.parametrize(
        "chat",
        [
            pytest.param({"title": "Support", "suggestions": ["Hello! Who are you?"]}, id="mapping"),
            pytest.param(ChatUI(title="Support", suggestions=["Hello! Who are you?"]), id="ChatUI"),
        ],
    )
    async def test_options(self, client_factory, chat):
        async with client_factory(app_with(chat=chat)) as client:
            page = await client.get("/llm/chat/")
        assert "<title>Support</title>" in page.text
        assert '"suggestions":["Hello! Who are you?"]' in page.text

    async def test_no_chat(self, client_factory):
        async with client_factory(app_with(chat=False)) as client:
            response = await client.get("/llm/chat/")
        assert response.status_code == 404

    def test_bad_options_fail_when_the_model_is_added(self):
        with pytest.raises(ValueError, match="unknown colour 'link'"):
            app_with(chat={"colors": {"link": "#fff"}})
