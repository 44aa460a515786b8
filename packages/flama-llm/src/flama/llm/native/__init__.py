"""The native dialect: Flama's own HTTP API for a language model, buffered and streamed (SSE)."""

from flama.llm.native.parser import NativeBody, NativeRequest, parse_request
from flama.llm.native.renderer import completion_body, stream_events
from flama.llm.native.routes import NativeDialect

__all__ = ["NativeBody", "NativeDialect", "NativeRequest", "completion_body", "parse_request", "stream_events"]
