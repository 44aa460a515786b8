import pytest
from flama.http import Flama, Route
from flama.llm.auth import APIKeyMiddleware, APIKeys


async def hello() -> dict[str, str]:
    return {"hello": "world"}


def app_with_keys() -> Flama:
    app = Flama([Route("/llm/", hello), Route("/health", hello), Route("/docs-like/", hello)], schema=None, docs=None)
    app.add_middleware(APIKeyMiddleware, keys=["k1", "k2"], open_paths=("/health", "/docs-like/"))
    return app


UNAUTHORIZED = {
    "detail": "A valid API key is required: Authorization: Bearer <key>",
    "error": "HTTPException",
    "status_code": 401,
}


class TestCaseAPIKeys:
    @pytest.mark.parametrize(
        "keys",
        [pytest.param([], id="none"), pytest.param([""], id="empty"), pytest.param(["a b"], id="space")],
    )
    def test_bad_keys(self, keys):
        with pytest.raises(ValueError, match="API key"):
            APIKeys(keys)


class TestCaseAPIKeyMiddleware:
    @pytest.mark.parametrize(
        "authorization",
        [
            pytest.param(None, id="missing"),
            pytest.param("Bearer nope", id="wrong"),
            pytest.param("Basic k1", id="scheme"),
            pytest.param("Bearer ", id="empty"),
        ],
    )
    async def test_rejected(self, client_factory, authorization):
        headers = {} if authorization is None else {"authorization": authorization}
        async with client_factory(app_with_keys()) as client:
            response = await client.get("/llm/", headers=headers)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        [pytest.param("Bearer k1", id="first"), pytest.param("bearer k2", id="second-lowercase")],
    )
    async def test_accepted(self, client_factory, authorization):
        async with client_factory(app_with_keys()) as client:
            response = await client.get("/llm/", headers={"authorization": authorization})
        assert response.status_code == 200
        assert response.json() == {"hello": "world"}

    @pytest.mark.parametrize("path", [pytest.param("/health", id="exact"), pytest.param("/docs-like/", id="prefix")])
    async def test_open_paths(self, client_factory, path):
        async with client_factory(app_with_keys()) as client:
            response = await client.get(path)
        assert response.status_code == 200
