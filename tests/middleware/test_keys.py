"""API keys: Authorization: Bearer or x-api-key, open paths configurable, the one error body when refused."""

import pytest
from flama.http import Flama, Route
from flama.middleware import APIKeyMiddleware, APIKeys, ConfigurationError


async def hello() -> dict[str, str]:
    return {"hello": "world"}


def app_with_keys() -> Flama:
    app = Flama([Route("/llm/", hello), Route("/health", hello), Route("/docs-like/", hello)], schema=None, docs=None)
    app.add_middleware(APIKeyMiddleware, keys=["k1", "k2"], open_paths=("/health", "/docs-like/"))
    return app


def header(value: str) -> tuple[str, str]:
    """``x-api-key:KEY`` as that header, anything else as ``Authorization``."""
    name, _, key = value.partition(":")
    return ("x-api-key", key) if name == "x-api-key" else ("authorization", value)


UNAUTHORIZED = {
    "detail": "A valid API key is required: Authorization: Bearer <key> or x-api-key: <key>",
    "error": "Unauthorized",
    "status_code": 401,
}


class TestCaseAPIKeys:
    @pytest.mark.parametrize(
        "keys",
        [pytest.param([], id="none"), pytest.param([""], id="empty"), pytest.param(["a b"], id="space")],
    )
    def test_bad_keys(self, keys):
        with pytest.raises(ConfigurationError, match="API key"):
            APIKeys(keys)


class TestCaseAPIKeyMiddleware:
    @pytest.mark.parametrize(
        "authorization",
        [
            pytest.param(None, id="missing"),
            pytest.param("Bearer nope", id="wrong"),
            pytest.param("Basic k1", id="scheme"),
            pytest.param("Bearer ", id="empty"),
            pytest.param("x-api-key:nope", id="wrong-x-api-key"),
            pytest.param("x-api-key: ", id="empty-x-api-key"),
        ],
    )
    async def test_rejected(self, client_factory, authorization):
        headers = {} if authorization is None else dict([header(authorization)])
        async with client_factory(app_with_keys()) as client:
            response = await client.get("/llm/", headers=headers)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        [
            pytest.param("Bearer k1", id="first"),
            pytest.param("bearer k2", id="second-lowercase"),
            pytest.param("x-api-key:k2", id="x-api-key"),
        ],
    )
    async def test_accepted(self, client_factory, authorization):
        async with client_factory(app_with_keys()) as client:
            response = await client.get("/llm/", headers=dict([header(authorization)]))
        assert response.status_code == 200
        assert response.json() == {"hello": "world"}

    @pytest.mark.parametrize("path", [pytest.param("/health", id="exact"), pytest.param("/docs-like/", id="prefix")])
    async def test_open_paths(self, client_factory, path):
        async with client_factory(app_with_keys()) as client:
            response = await client.get(path)
        assert response.status_code == 200


class TestCaseDefaultOpenPaths:
    @pytest.mark.parametrize(
        ("path", "status"),
        [
            pytest.param("/health", 200, id="health"),
            pytest.param("/metrics", 200, id="metrics"),
            pytest.param("/schema/", 200, id="schema"),
            pytest.param("/", 401, id="guarded"),
        ],
    )
    async def test_operations_open(self, client_factory, path, status):
        app = Flama([Route("/", hello)], docs=None)
        app.add_middleware(APIKeyMiddleware, keys=["k"])
        async with client_factory(app) as client:
            response = await client.get(path)
        assert response.status_code == status
