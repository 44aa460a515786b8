"""The vendor dialects with a scripted backend: model names, leniency, error envelopes, thinking signatures."""

from collections.abc import Callable
from typing import Any

import pytest
from flama.llm.anthropic import Signer

from tests.llm.doubles import model_factory

__all__ = ["model_factory"]

USER = [{"role": "user", "content": "Hi"}]
CHAT: dict[str, tuple[str, dict[str, Any]]] = {
    "openai": ("/llm/openai/v1/chat/completions", {"messages": USER}),
    "anthropic": ("/llm/anthropic/v1/messages", {"messages": USER, "max_tokens": 8}),
    "ollama": ("/llm/ollama/api/chat", {"messages": USER, "stream": False}),
}
NOT_FOUND: dict[str, Callable[[Any], bool]] = {
    "openai": lambda body: body["error"]["code"] == "model_not_found" and body["error"]["param"] == "model",
    "anthropic": lambda body: body["type"] == "error" and body["error"]["type"] == "not_found_error",
    "ollama": lambda body: body == {"error": "model 'gpt-4o' not found"},
}


class TestCaseModelNames:
    async def test_inspect_lists_the_names(self, model_factory):
        async with model_factory() as (client, _):
            names = (await client.get("/llm/")).json()["model_names"]
        assert names == {"openai": ["assistant"], "anthropic": ["assistant"], "ollama": ["assistant"]}

    @pytest.mark.parametrize("dialect", list(CHAT))
    async def test_unknown_model(self, model_factory, dialect):
        path, body = CHAT[dialect]
        async with model_factory() as (client, resource):
            response = await client.post(path, json={**body, "model": "gpt-4o"})
            assert backend_calls(resource) == 0
        assert response.status_code == 404
        assert NOT_FOUND[dialect](response.json()), response.json()

    @pytest.mark.parametrize("dialect", list(CHAT))
    async def test_any_model_name(self, model_factory, dialect):
        path, body = CHAT[dialect]
        async with model_factory(any_model_name=True) as (client, _):
            assert (await client.get("/llm/")).json()["model_names"][dialect] == ["*"]
            response = await client.post(path, json={**body, "model": "gpt-4o"})
        assert response.status_code == 200, response.text


class TestCaseServing:
    async def test_only_the_dialects_asked_for(self, model_factory):
        async with model_factory(serving=("native", "anthropic")) as (client, _):
            assert (
                await client.post(CHAT["openai"][0], json={"model": "assistant", **CHAT["openai"][1]})
            ).status_code == 404
            assert (await client.get("/llm/ollama/api/version")).status_code == 404
            answered = await client.post(CHAT["anthropic"][0], json={"model": "assistant", **CHAT["anthropic"][1]})
        assert answered.status_code == 200

    async def test_unknown_dialect(self, model_factory):
        with pytest.raises(ValueError, match="unknown dialect 'grpc'"):
            async with model_factory(serving=("native", "grpc")):
                pass


class TestCaseSigner:
    def test_signature(self):
        signer = Signer(b"secret")
        assert signer.verify("hmm", signer.sign("hmm"))
        assert not signer.verify("hmm!", signer.sign("hmm"))
        assert not Signer(b"other").verify("hmm", signer.sign("hmm"))


def backend_calls(resource) -> int:
    return len(resource.backend.calls)


class TestCaseAPIKeys:
    @pytest.mark.parametrize(
        ("dialect", "headers"),
        [
            pytest.param("openai", {"Authorization": "Bearer secret"}, id="openai-bearer"),
            pytest.param("anthropic", {"x-api-key": "secret"}, id="anthropic-x-api-key"),
            pytest.param("anthropic", {"Authorization": "Bearer secret"}, id="anthropic-bearer"),
            pytest.param("ollama", {"Authorization": "Bearer secret"}, id="ollama-bearer"),
        ],
    )
    async def test_keys_as_each_sdk_sends_them(self, model_factory, dialect, headers):
        path, body = CHAT[dialect]
        async with model_factory(api_keys=["secret"]) as (client, _):
            refused = await client.post(path, json={**body, "model": "assistant"})
            accepted = await client.post(path, json={**body, "model": "assistant"}, headers=headers)
        assert refused.status_code == 401
        assert UNAUTHORIZED[dialect](refused.json()), refused.json()
        assert accepted.status_code == 200, accepted.text


UNAUTHORIZED: dict[str, Callable[[Any], bool]] = {
    "openai": lambda body: body["error"]["type"] == "authentication_error",
    "anthropic": lambda body: body["error"]["type"] == "authentication_error",
    "ollama": lambda body: isinstance(body["error"], str),
}
