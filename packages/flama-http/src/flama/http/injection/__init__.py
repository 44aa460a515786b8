"""Dependency injection: endpoint arguments resolved from type hints through plans built at registration."""

from flama.http.injection.components import Component, Context, Cookie, Header, Query, Source
from flama.http.injection.resolver import Field, Plan, build_plan

__all__ = ["Component", "Context", "Cookie", "Field", "Header", "Plan", "Query", "Source", "build_plan"]
