"""ChatApp: the page with its options injected, the hashed assets, caching, compression and the errors it answers."""

import gzip
import json
import re

import pytest
from flama.chat_ui import STATIC, ChatApp, ChatUI


def config_of(page: str) -> dict[str, object]:
    match = re.search(r'<script id="flama-chat-config" type="application/json">(.*?)</script>', page)
    assert match is not None
    loaded = json.loads(match.group(1))
    assert isinstance(loaded, dict)
    return loaded


def main_script(page: str) -> str:
    match = re.search(r'<script type="module" crossorigin src="\./assets/([^"]+\.js)"', page)
    assert match is not None
    return match.group(1)


class TestCaseChatApp:
    async def test_page(self, client_factory):
        app = ChatApp({"title": "Ask </script><b>", "suggestions": ["Hi"]}, title="assistant", storage_key="/llm/")
        async with client_factory(app) as client:
            response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "<title>Ask &lt;/script&gt;&lt;b&gt;</title>" in response.text
        # The title cannot close the configuration's element: "<" is escaped inside the JSON.
        assert "Ask </script>" not in response.text
        assert config_of(response.text) == {
            "title": "Ask </script><b>",
            "logo": None,
            "colors": {},
            "dark_colors": {},
            "system_prompt": "",
            "suggestions": ["Hi"],
            "tools": [],
            "params": {},
            "api_base": "../",
            "storage_key": "/llm/",
        }

    async def test_title_defaults_to_the_model_name(self, client_factory):
        async with client_factory(ChatApp(None, title="assistant")) as client:
            response = await client.get("/index.html")
        assert config_of(response.text)["title"] == "assistant"

    async def test_page_revalidates(self, client_factory):
        async with client_factory(ChatApp()) as client:
            first = await client.get("/")
            again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""

    async def test_assets(self, client_factory):
        async with client_factory(ChatApp()) as client:
            name = main_script((await client.get("/")).text)
            plain = await client.get(f"/assets/{name}", headers={"accept-encoding": "identity"})
            packed = await client.get(f"/assets/{name}", headers={"accept-encoding": "gzip"})
            again = await client.get(f"/assets/{name}", headers={"if-none-match": plain.headers["etag"]})
            head = await client.head(f"/assets/{name}", headers={"accept-encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["vary"] == "accept-encoding"
        assert plain.content == (STATIC / "assets" / name).read_bytes()
        assert "content-encoding" not in plain.headers
        # httpx decodes the body: the bytes that arrive are the same file.
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.content == plain.content
        assert int(packed.headers["content-length"]) < len(plain.content)
        assert again.status_code == 304
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == plain.headers["content-length"]

    async def test_every_asset_has_a_known_type(self, client_factory):
        names = sorted(path.name for path in (STATIC / "assets").iterdir())
        types = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2"}
        assert {name[name.rindex(".") :] for name in names} <= set(types)
        async with client_factory(ChatApp()) as client:
            for name in [
                names[0],
                next(n for n in names if n.endswith(".css")),
                next(n for n in names if n.endswith(".woff2")),
            ]:
                response = await client.get(f"/assets/{name}")
                assert response.headers["content-type"].startswith(types[name[name.rindex(".") :]])

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/assets/missing.js", id="unknown"),
            pytest.param("/assets/..%2Findex.html", id="encoded-traversal"),
            pytest.param("/assets/../../app.py", id="traversal"),
            pytest.param("/assets/", id="empty"),
            pytest.param("/app.py", id="outside-assets"),
        ],
    )
    async def test_not_found(self, client_factory, path):
        async with client_factory(ChatApp()) as client:
            response = await client.get(path)
        assert response.status_code == 404
        assert response.text == "Not Found"

    async def test_method_not_allowed(self, client_factory):
        async with client_factory(ChatApp()) as client:
            response = await client.post("/")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"

    async def test_mounted_without_slash_redirects(self, client_factory):
        app = ChatApp()

        async def mounted(scope, receive, send):
            await app({**scope, "root_path": "/llm/chat"}, receive, send)

        async with client_factory(mounted) as client:
            response = await client.get("/llm/chat?x=1")
        assert response.status_code == 308
        assert response.headers["location"] == "/llm/chat/?x=1"

    async def test_absolute_api_base_is_allowed_to_connect(self, client_factory):
        app = ChatApp(api_base="https://models.example.org/llm/")
        async with client_factory(app) as client:
            response = await client.get("/")
        assert "connect-src 'self' https://models.example.org" in response.headers["content-security-policy"]


class TestCaseChatUI:
    def test_options(self):
        options = ChatUI.of(
            {
                "title": "Support",
                "logo": "data:image/svg+xml;base64,PHN2Zy8+",
                "colors": {"accent": "#0b7285", "background": "rgb(250, 250, 250)"},
                "dark_colors": {"accent": "oklch(70% 0.1 200)"},
                "system_prompt": "Be kind.",
                "suggestions": ("Hello!",),
                "tools": [{"type": "function", "function": {"name": "get_weather"}}],
                "params": {"temperature": 0, "max_tokens": 256},
            }
        )
        config = options.config(title="assistant", api_base="../", storage_key="")
        assert config["title"] == "Support"
        assert config["colors"] == {"accent": "#0b7285", "background": "rgb(250, 250, 250)"}
        assert config["suggestions"] == ["Hello!"]
        assert config["params"] == {"temperature": 0, "max_tokens": 256}
        assert ChatUI.of(options) is options

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"colour": {}}, "unknown chat option 'colour'", id="unknown-option"),
            pytest.param({"colors": {"link": "#fff"}}, "unknown colour 'link'", id="unknown-colour"),
            pytest.param(
                {"colors": {"accent": "red; } body { display: none"}}, "is not a CSS colour", id="css-injection"
            ),
            pytest.param({"colors": {"accent": "url(https://e.org/x)"}}, "is not a CSS colour", id="css-url"),
            pytest.param({"logo": "javascript:alert(1)"}, "chat logo must be", id="javascript-logo"),
            pytest.param({"params": {"temperature": 3}}, "from 0.0 to 2.0", id="temperature-range"),
            pytest.param({"params": {"max_tokens": 1.5}}, "must be an integer", id="max-tokens-integer"),
            pytest.param({"params": {"seed": 1}}, "unknown setting 'seed'", id="unknown-param"),
            pytest.param({"suggestions": "Hello"}, "suggestions must be a list of strings", id="suggestions-string"),
            pytest.param({"tools": [{"type": "function"}]}, "needs a function name", id="tool-without-name"),
        ],
    )
    def test_bad_options(self, options, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            ChatUI.of(options)

    def test_not_a_mapping(self):
        with pytest.raises(ValueError, match="chat options must be a ChatUI or a mapping, got list"):
            ChatUI.of([])  # type: ignore[arg-type]


def test_gzip_is_deterministic():
    name = next(path for path in (STATIC / "assets").iterdir() if path.suffix == ".css")
    assert gzip.decompress(gzip.compress(name.read_bytes(), 6, mtime=0)) == name.read_bytes()


def test_main_bundle_budget():
    """What the page loads before any answer (its scripts' static imports and stylesheets) fits 300 KB gzipped, and
    holds neither KaTeX nor Mermaid, which load when an answer needs them."""
    page = (STATIC / "index.html").read_text()
    pending = re.findall(r'(?:src|href)="\./assets/([^"]+)"', page)
    loaded: set[str] = set()
    while pending:
        name = pending.pop()
        if name in loaded:
            continue
        loaded.add(name)
        if name.endswith(".js"):
            text = (STATIC / "assets" / name).read_text()
            pending += re.findall(r'(?:\bfrom|\bimport)\s*"\./([^"]+\.js)"', text)
    assert any(name.startswith("vendor-") for name in loaded)
    assert not [name for name in loaded if name.startswith(("katex", "mermaid", "KaTeX"))]
    size = sum(len(gzip.compress((STATIC / "assets" / name).read_bytes(), 9)) for name in loaded)
    assert size <= 300 * 1024, f"the main bundle is {size / 1024:.0f} KB gzipped: {sorted(loaded)}"
    lazy = {path.name for path in (STATIC / "assets").iterdir()} - loaded
    assert any(name.startswith("katex-") and name.endswith(".js") for name in lazy)
    assert any(name.startswith("mermaid.core-") for name in lazy)
