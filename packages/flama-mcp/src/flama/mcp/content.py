"""What handlers may return besides plain values: content blocks, a full tool result, prompt messages."""

import base64
import dataclasses
from typing import Any, ClassVar, Literal

__all__ = ["Audio", "Content", "Image", "Message", "ResourceLink", "Text", "ToolResult"]


class Content:
    """A content block of a tool result or a prompt message."""

    def wire(self) -> dict[str, Any]:  # pragma: no cover - every block overrides it
        """The block as the protocol writes it."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Text(Content):
    """Text content."""

    text: str

    def wire(self) -> dict[str, Any]:
        """The block as the protocol writes it."""
        return {"type": "text", "text": self.text}


@dataclasses.dataclass(frozen=True)
class _Media(Content):
    """Binary content (raw bytes, sent base64-encoded) of the block type ``kind``."""

    kind: ClassVar[str]
    data: bytes
    mime_type: str

    def wire(self) -> dict[str, Any]:
        """The block as the protocol writes it."""
        return {"type": self.kind, "data": base64.b64encode(self.data).decode(), "mimeType": self.mime_type}


@dataclasses.dataclass(frozen=True)
class Image(_Media):
    """Image content: raw bytes, sent base64-encoded."""

    kind: ClassVar[str] = "image"
    mime_type: str = "image/png"


@dataclasses.dataclass(frozen=True)
class Audio(_Media):
    """Audio content: raw bytes, sent base64-encoded."""

    kind: ClassVar[str] = "audio"
    mime_type: str = "audio/wav"


@dataclasses.dataclass(frozen=True)
class ResourceLink(Content):
    """A link to a resource the client may read."""

    uri: str
    name: str
    mime_type: str | None = None
    description: str | None = None

    def wire(self) -> dict[str, Any]:
        """The block as the protocol writes it."""
        block = {"type": "resource_link", "uri": self.uri, "name": self.name}
        if self.mime_type:
            block["mimeType"] = self.mime_type
        if self.description:
            block["description"] = self.description
        return block


@dataclasses.dataclass(frozen=True)
class EmbeddedResource(Content):
    """A resource's contents embedded in a result: ``text`` or ``blob`` (bytes)."""

    uri: str
    text: str | None = None
    blob: bytes | None = None
    mime_type: str | None = None

    def wire(self) -> dict[str, Any]:
        """The block as the protocol writes it."""
        resource: dict[str, Any] = {"uri": self.uri}
        if self.mime_type:
            resource["mimeType"] = self.mime_type
        if self.blob is not None:
            resource["blob"] = base64.b64encode(self.blob).decode()
        else:
            resource["text"] = self.text or ""
        return {"type": "resource", "resource": resource}


@dataclasses.dataclass(frozen=True)
class ToolResult:
    """A tool result in full, for tools that set every part themselves.

    Attributes:
        content: The content blocks.
        structured: The structured content (checked against the tool's output schema by clients).
        is_error: Whether the call failed (the model reads the content to learn why).
        meta: The result's ``_meta``.
    """

    content: list[Content] = dataclasses.field(default_factory=list)
    structured: Any = None
    is_error: bool = False
    meta: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        """The result as the protocol writes it."""
        result: dict[str, Any] = {"content": [block.wire() for block in self.content]}
        if self.structured is not None:
            result["structuredContent"] = self.structured
        if self.is_error:
            result["isError"] = True
        if self.meta:
            result["_meta"] = self.meta
        return result


@dataclasses.dataclass(frozen=True)
class Message:
    """A prompt message."""

    content: Content | str
    role: Literal["user", "assistant"] = "user"

    def wire(self) -> dict[str, Any]:
        """The message as the protocol writes it."""
        block = Text(self.content) if isinstance(self.content, str) else self.content
        return {"role": self.role, "content": block.wire()}
