"""The chat page as a plain ASGI application: mount it anywhere (flama-llm mounts it at each model's ``chat/``).

- ``GET /`` (and ``/index.html``): the page, with the application's options injected as JSON; ``no-cache``.
- ``GET /assets/{name}``: the built scripts, stylesheets and fonts. Their names carry a content hash, so they are
  cached for a year as ``immutable``; scripts and stylesheets are sent gzip-compressed to clients that accept it.
- The mount's own path without its trailing slash redirects to it (the page's URLs are relative).

Only ``GET`` and ``HEAD`` are served (``405`` otherwise); an unknown path is a ``404``. The package has no
dependency: the app speaks ASGI directly, and reads each asset from the wheel once, when it is first asked for.
"""

import gzip
import hashlib
import html
import json
import pathlib
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Final

from flama.chat_ui.options import ChatUI

__all__ = ["STATIC", "ChatApp", "MissingAssets"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The built page and its assets, inside the package.
STATIC: Final = pathlib.Path(__file__).parent / "static"

_CONFIG_ELEMENT: Final = '<script id="flama-chat-config" type="application/json">{}</script>'
_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE: Final = frozenset({".js", ".css", ".svg", ".json", ".txt"})
_IMMUTABLE: Final = "public, max-age=31536000, immutable"
# What the page may load: its own files, images for logos, and the model's API. Model output is sanitised before it is
# shown; this is the second line of defence.
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; connect-src 'self'{api}"
)


class MissingAssets(RuntimeError):
    """The built page is not in the package (a source checkout where ``make chat-ui`` has not run)."""


class _Asset:
    __slots__ = ("body", "etag", "gzipped", "media_type")

    def __init__(self, path: pathlib.Path) -> None:
        self.body = path.read_bytes()
        self.media_type = _TYPES.get(path.suffix, "application/octet-stream")
        self.etag = '"' + hashlib.blake2b(self.body, digest_size=12).hexdigest() + '"'
        compressed = gzip.compress(self.body, 6, mtime=0) if path.suffix in _COMPRESSIBLE else None
        self.gzipped = compressed if compressed is not None and len(compressed) < len(self.body) else None


_assets: dict[str, _Asset] = {}
_assets_lock = threading.Lock()


def _asset(name: str) -> _Asset | None:
    # Only names of files that exist in assets/ are served: a "..", a slash or an unknown name is a 404.
    asset = _assets.get(name)
    if asset is not None:
        return asset
    directory = STATIC / "assets"
    if "/" in name or "\\" in name or name.startswith(".") or not (directory / name).is_file():
        return None
    with _assets_lock:
        asset = _assets.get(name)
        if asset is None:
            asset = _assets[name] = _Asset(directory / name)
    return asset


def _index_template() -> str:
    try:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MissingAssets(
            f"the chat page is missing from {STATIC} (a source checkout that was not built): run `make chat-ui`"
        ) from exc
    if _CONFIG_ELEMENT not in page:
        raise MissingAssets(f"{STATIC / 'index.html'} has no configuration element: rebuild it with `make chat-ui`")
    return page


def _script_json(value: Any) -> str:
    # JSON inside <script>: nothing in it may close the element or start a comment.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


class ChatApp:
    """The chat page of one model, as an ASGI application.

    Args:
        options: The page's options: a :class:`ChatUI`, a mapping of its fields, or ``None`` for the defaults.
        title: The title when the options set none (the model's name).
        api_base: The model's native API, relative to the page or absolute; ``../`` when the page is mounted at the
            model's ``chat/``.
        storage_key: Keeps this page's conversations apart from other chat pages' on the same origin.

    Raises:
        ValueError: Options that are not valid.
        MissingAssets: The package holds no built page.
    """

    def __init__(
        self,
        options: ChatUI | Mapping[str, Any] | None = None,
        *,
        title: str = "Flama chat",
        api_base: str = "../",
        storage_key: str = "",
    ) -> None:
        self.options = ChatUI.of(options)
        config = self.options.config(title=title, api_base=api_base, storage_key=storage_key)
        page = _index_template().replace(_CONFIG_ELEMENT, _CONFIG_ELEMENT.replace("{}", _script_json(config)), 1)
        page = page.replace("<title>Flama chat</title>", f"<title>{html.escape(config['title'])}</title>", 1)
        self.page = page.encode()
        self.page_etag = '"' + hashlib.blake2b(self.page, digest_size=12).hexdigest() + '"'
        api_origin = _origin(api_base)
        self.page_headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"etag", self.page_etag.encode()),
            (b"content-security-policy", _CSP.format(api=f" {api_origin}" if api_origin else "").encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (``http`` only; a ``lifespan`` scope is acknowledged)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"the chat page serves HTTP, not {scope['type']!r}")
        root = scope.get("root_path", "")
        path: str = scope["path"]
        relative = path[len(root) :] if root and path.startswith(root) else path
        method = scope["method"]
        if relative == "":
            query = scope.get("query_string", b"")
            location = root + "/" + ("?" + query.decode("latin-1") if query else "")
            await _respond(send, 308, [(b"location", location.encode("latin-1"))], b"", method)
            return
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, [(b"allow", b"GET, HEAD"), *_TEXT], b"Method Not Allowed", method)
            return
        headers = _headers(scope)
        if relative in ("/", "/index.html"):
            if self.page_etag in headers.get("if-none-match", ""):
                await _respond(send, 304, [(b"etag", self.page_etag.encode())], b"", method)
                return
            await _respond(send, 200, self.page_headers, self.page, method)
            return
        asset = _asset(relative[len("/assets/") :]) if relative.startswith("/assets/") else None
        if asset is None:
            await _respond(send, 404, list(_TEXT), b"Not Found", method)
            return
        common = [(b"cache-control", _IMMUTABLE.encode()), (b"etag", asset.etag.encode())]
        if asset.etag in headers.get("if-none-match", ""):
            await _respond(send, 304, common, b"", method)
            return
        common += [(b"content-type", asset.media_type.encode()), (b"x-content-type-options", b"nosniff")]
        if asset.gzipped is not None:
            common.append((b"vary", b"accept-encoding"))
            if "gzip" in headers.get("accept-encoding", ""):
                await _respond(send, 200, [*common, (b"content-encoding", b"gzip")], asset.gzipped, method)
                return
        await _respond(send, 200, common, asset.body, method)


_TEXT: Final = ((b"content-type", b"text/plain; charset=utf-8"),)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}


async def _respond(send: Send, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes, method: str) -> None:
    # A 304 carries no body and no length of its own.
    raw = [*headers] if status == 304 else [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
