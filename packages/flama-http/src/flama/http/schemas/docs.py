"""The endpoints serving the OpenAPI schema and the interactive documentation page.

The page runs Swagger UI from files shipped inside the wheel: ``scripts/build-docs-assets`` copies them from the pinned
npm package ``swagger-ui-dist`` into ``static/``, and the application serves them itself under the docs path. No CDN
is involved: the page works offline.
"""

import html
import json
import string
from pathlib import Path
from types import MappingProxyType
from typing import Final

from flama.http.exceptions import HTTPException
from flama.http.files import FileResponse
from flama.http.requests import Request
from flama.http.responses import HTMLResponse, JSONResponse
from flama.http.schemas.openapi import openapi_schema

__all__ = ["ASSETS", "asset_endpoint", "assets_path", "docs_endpoint", "schema_endpoint"]

STATIC: Final = Path(__file__).parent / "static"

#: The files the page needs, by name, with their content types: the bundle, its stylesheet and their licences.
ASSETS: Final = MappingProxyType(
    {
        "swagger-ui-bundle.js": "text/javascript",
        "swagger-ui.css": "text/css",
        "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
        "LICENSE": "text/plain",
        "NOTICE": "text/plain",
    }
)

# The assets' URLs do not change between versions, so browsers keep them but revalidate (ETag) on each use.
_ASSET_HEADERS: Final = MappingProxyType({"cache-control": "public, no-cache"})
# The page is built per request from the application's paths.
_PAGE_HEADERS: Final = MappingProxyType({"cache-control": "no-cache"})
_MISSING: Final = (
    "the /docs/ assets are missing from flama.http (a source checkout that was not built): "
    "run `scripts/build-docs-assets` or `make install`, which fetch them from the npm registry"
)

_PAGE: Final = string.Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title - API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="$assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="$assets/swagger-ui-bundle.js"></script>
<script>
"use strict";
// validatorUrl: null keeps the page offline (the default badge asks a public validator service).
window.ui = SwaggerUIBundle({
  url: $schema_url,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
</script>
</body>
</html>
"""
)


def assets_path(docs: str) -> str:
    """The route template of the page's assets, under the docs path: ``/docs/`` serves ``/docs/assets/{name}``.

    Args:
        docs: The docs page's path.
    """
    return _assets_prefix(docs) + "/{name}"


def _assets_prefix(docs: str) -> str:
    return docs.rstrip("/") + "/assets"


def _require_assets() -> None:
    if not all((STATIC / name).is_file() for name in ASSETS):
        raise HTTPException(500, _MISSING)


def _script_string(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot end the ``<script>`` element it sits in."""
    return json.dumps(text).replace("<", "\\u003c")


async def schema_endpoint(request: Request) -> JSONResponse:
    """The application's OpenAPI 3.1 schema.

    Under a mount the schema names the mount's prefix as its server, so requests built from it reach the mount.
    """
    app = request.app
    document = openapi_schema(app.router, app.openapi_info)
    base = request.scope.get("root_path", "")
    if base:
        document = {**document, "servers": [{"url": base}]}
    return JSONResponse(document)


async def docs_endpoint(request: Request) -> HTMLResponse:
    """The interactive API reference page (Swagger UI), reading the application's schema.

    Raises:
        HTTPException: 500, saying how to build them, when the assets are not installed.
    """
    app = request.app
    if app.schema_path is None:
        raise LookupError("the documentation page needs the schema: give the application a schema path")
    _require_assets()
    base = request.scope.get("root_path", "")
    page = _PAGE.substitute(
        title=html.escape(str(app.openapi_info["title"])),
        assets=html.escape(base + _assets_prefix(app.docs_path)),
        schema_url=_script_string(base + app.schema_path),
    )
    return HTMLResponse(page, headers=_PAGE_HEADERS)


async def asset_endpoint(request: Request) -> FileResponse:
    """One of the page's :data:`ASSETS`, with its content type and validators (``ETag``, ``Last-Modified``).

    Raises:
        HTTPException: 404 for a name that is not an asset; 500 when the assets are not installed.
    """
    name: str = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404)
    _require_assets()
    return FileResponse(STATIC / name, media_type=media_type, headers=_ASSET_HEADERS)
