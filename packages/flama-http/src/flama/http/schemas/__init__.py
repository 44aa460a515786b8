"""Schemas: the OpenAPI 3.1 document built from routes and type hints, and the interactive docs page."""

from flama.http.schemas.docs import ASSETS, asset_endpoint, assets_path, docs_endpoint, schema_endpoint
from flama.http.schemas.openapi import OpenAPI, openapi_schema

__all__ = [
    "ASSETS",
    "OpenAPI",
    "asset_endpoint",
    "assets_path",
    "docs_endpoint",
    "openapi_schema",
    "schema_endpoint",
]
