"""The /docs/ page (Swagger UI from assets shipped in the wheel) and the route serving those assets."""

from pathlib import Path

import pytest
from flama.http import Flama, Mount, Route, Router
from flama.http.schemas import ASSETS, docs

STATIC = Path(docs.__file__).parent / "static"
NOT_FOUND = {"detail": "Not Found", "error": "HTTPException", "status_code": 404}
MISSING = {
    "detail": "the /docs/ assets are missing from flama.http (a source checkout that was not built): "
    "run `scripts/build-docs-assets` or `make install`, which fetch them from the npm registry",
    "error": "HTTPException",
    "status_code": 500,
}


async def ping() -> dict[str, str]:
    return {"ping": "pong"}


def app_factory(docs: str | None = "/docs/", schema: str | None = "/schema/") -> Flama:
    return Flama(
        routes=[Route("/ping", ping)],
        openapi={"title": "Shop", "version": "2"},
        schema=schema,
        docs=docs,
        discover_modules=False,
    )


class TestCaseDocsPage:
    async def test_page(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/docs/")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        assert "<title>Shop - API reference</title>" in response.text
        assert '<link rel="stylesheet" href="/docs/assets/swagger-ui.css">' in response.text
        assert '<script src="/docs/assets/swagger-ui-bundle.js"></script>' in response.text
        assert '  url: "/schema/",\n' in response.text
        assert "  validatorUrl: null,\n" in response.text
        assert "http://" not in response.text
        assert "https://" not in response.text

    async def test_mounted(self, client_factory):
        async with client_factory(Router([Mount("/shop", app_factory())])) as client:
            page = await client.get("/shop/docs/")
            asset = await client.get("/shop/docs/assets/swagger-ui.css")
            schema = await client.get("/shop/schema/")
        assert '  url: "/shop/schema/",\n' in page.text
        assert '<link rel="stylesheet" href="/shop/docs/assets/swagger-ui.css">' in page.text
        assert '<script src="/shop/docs/assets/swagger-ui-bundle.js"></script>' in page.text
        assert asset.status_code == 200
        # "Try it out" sends requests to the servers the schema names: the mount's prefix.
        assert schema.json()["servers"] == [{"url": "/shop"}]

    async def test_unmounted_schema_names_no_server(self, client_factory):
        async with client_factory(app_factory()) as client:
            schema = (await client.get("/schema/")).json()
        assert "servers" not in schema

    async def test_custom_paths(self, client_factory):
        async with client_factory(app_factory(docs="/reference", schema="/openapi.json")) as client:
            page = await client.get("/reference")
            asset = await client.get("/reference/assets/swagger-ui-bundle.js")
        assert '  url: "/openapi.json",\n' in page.text
        assert '<script src="/reference/assets/swagger-ui-bundle.js"></script>' in page.text
        assert asset.status_code == 200

    async def test_escaping(self, client_factory):
        app = Flama(openapi={"title": "<b>&</b>", "version": "1"}, schema="/s</script>/", discover_modules=False)
        async with client_factory(app) as client:
            page = (await client.get("/docs/")).text
        assert "<title>&lt;b&gt;&amp;&lt;/b&gt; - API reference</title>" in page
        assert '  url: "/s\\u003c/script>/",\n' in page

    async def test_missing_assets(self, client_factory, tmp_path, monkeypatch):
        monkeypatch.setattr(docs, "STATIC", tmp_path)
        async with client_factory(app_factory()) as client:
            page = await client.get("/docs/")
            asset = await client.get("/docs/assets/swagger-ui.css")
        for response in (page, asset):
            assert response.status_code == 500
            assert response.headers["content-type"] == "application/json"
            assert response.json() == MISSING

    async def test_disabled(self, client_factory):
        async with client_factory(app_factory(docs=None)) as client:
            response = await client.get("/docs/assets/swagger-ui.css")
        assert response.status_code == 404


class TestCaseDocsAssets:
    @pytest.mark.parametrize(
        ("name", "content_type"),
        [
            pytest.param("swagger-ui-bundle.js", "text/javascript; charset=utf-8", id="bundle"),
            pytest.param("swagger-ui.css", "text/css; charset=utf-8", id="stylesheet"),
            pytest.param("swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8", id="bundle-licences"),
            pytest.param("LICENSE", "text/plain; charset=utf-8", id="licence"),
            pytest.param("NOTICE", "text/plain; charset=utf-8", id="notice"),
        ],
    )
    async def test_asset(self, client_factory, name, content_type):
        async with client_factory(app_factory()) as client:
            response = await client.get(f"/docs/assets/{name}")
        content = (STATIC / name).read_bytes()
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers["cache-control"] == "public, no-cache"
        assert response.headers["content-length"] == str(len(content))
        assert response.headers["etag"].startswith('"')
        assert response.content == content

    def test_every_asset_is_served(self):
        assert set(ASSETS) == {path.name for path in STATIC.iterdir()}

    async def test_revalidation(self, client_factory):
        async with client_factory(app_factory()) as client:
            first = await client.get("/docs/assets/swagger-ui.css")
            again = await client.get("/docs/assets/swagger-ui.css", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""

    async def test_head(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.head("/docs/assets/swagger-ui.css")
        assert response.status_code == 200
        assert response.headers["content-length"] == str((STATIC / "swagger-ui.css").stat().st_size)
        assert response.content == b""

    async def test_method_not_allowed(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.post("/docs/assets/swagger-ui.css")
        assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/docs/assets/swagger-ui.js", id="unshipped-dist-file"),
            pytest.param("/docs/assets/swagger-ui-bundle.js.map", id="source-map"),
            pytest.param("/docs/assets/docs.py", id="package-module"),
            pytest.param("/docs/assets/..", id="parent"),
            pytest.param("/docs/assets/../docs.py", id="dot-dot-segment"),
            pytest.param("/docs/assets/..\\docs.py", id="backslash"),
            pytest.param("/docs/assets/static/LICENSE", id="nested"),
            pytest.param("/docs/assets/", id="empty-name"),
            pytest.param("/docs/assets/%2E%2E%2Fdocs.py", id="encoded-in-name"),
        ],
    )
    async def test_not_an_asset(self, call_app, scope_factory, path):
        sent = await call_app(app_factory(), scope_factory(path=path))
        assert sent.status == 404
        assert sent.body == b'{"detail":"Not Found","error":"HTTPException","status_code":404}'
