"""The endpoints serving the OpenAPI schema and the interactive documentation page.

The page (``docs.html``, shipped in the wheel) is self-contained: no CDN, it works offline. It fetches the schema,
lists the operations with their parameters and sends requests with ``fetch`` ("try it out").
"""

import functools
import importlib.resources
import json

from flama.http.requests import Request
from flama.http.responses import HTMLResponse, JSONResponse
from flama.http.schemas.openapi import openapi_schema

__all__ = ["docs_endpoint", "schema_endpoint"]


@functools.cache
def _page() -> str:
    return importlib.resources.files("flama.http.schemas").joinpath("docs.html").read_text(encoding="utf-8")


async def schema_endpoint(request: Request) -> JSONResponse:
    """The application's OpenAPI 3.1 schema."""
    app = request.app
    return JSONResponse(openapi_schema(app.router, app.openapi_info))


async def docs_endpoint(request: Request) -> HTMLResponse:
    """The interactive API reference page."""
    app = request.app
    base = request.scope.get("root_path", "")
    if app.schema_path is None:
        raise LookupError("the documentation page needs the schema: give the application a schema path")
    # json.dumps gives a JS string literal; "<" is escaped so a path cannot close the script element.
    schema_url = json.dumps(base + app.schema_path)[1:-1].replace("<", "\\u003c")
    page = _page().replace("__SCHEMA_URL__", schema_url).replace("__BASE_URL__", json.dumps(base)[1:-1])
    return HTMLResponse(page)
