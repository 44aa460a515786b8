"""The options of a chat page: what an application may change per model.

Title, logo, colours, the default system prompt, suggested prompts, tools and generation settings. The options are
checked when the model is added, and reach the page as JSON.
"""

import dataclasses
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

__all__ = ["COLORS", "PARAMS", "ChatUI"]

#: The colours an application may set (CSS custom properties of the page), for the light and the dark theme.
COLORS: Final = frozenset(
    {"accent", "accent_text", "background", "surface", "surface_strong", "text", "muted", "border", "user_bubble"}
)
#: The generation settings the page starts with (the person may change them), with their allowed ranges.
PARAMS: Final = MappingProxyType({"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "max_tokens": (1, 1 << 20)})

# A colour is a CSS colour value: a name, #hex, or a function such as rgb(...) or oklch(...). Nothing that could
# close the declaration (";", "}") or load anything ("url(").
_COLOR: Final = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|[a-z-]+\([0-9a-zA-Z.,%/ +-]*\))$")
# A logo is a relative URL, an http(s) URL, or an image as a data: URL; never javascript: or anything else.
_LOGO_SCHEME: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _colors(value: Mapping[str, str], field: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"chat {field} must be a mapping of colour names to CSS colours")
    for name, color in value.items():
        if name not in COLORS:
            raise ValueError(f"chat {field}: unknown colour {name!r}; known: {', '.join(sorted(COLORS))}")
        if not isinstance(color, str) or not _COLOR.match(color.strip()):
            raise ValueError(f"chat {field}[{name!r}]: {color!r} is not a CSS colour (a name, #hex or rgb(...))")
    return MappingProxyType({name: color.strip() for name, color in value.items()})


def _logo(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("chat logo must be a URL")
    scheme = _LOGO_SCHEME.match(value)
    if scheme and not value.lower().startswith(("http://", "https://", "data:image/")):
        raise ValueError(f"chat logo must be a relative, http(s) or data:image/ URL, got {value[:40]!r}")
    return value


def _params(value: Mapping[str, float]) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError("chat params must be a mapping")
    for name, number in value.items():
        if name not in PARAMS:
            raise ValueError(f"chat params: unknown setting {name!r}; known: {', '.join(PARAMS)}")
        low, high = PARAMS[name]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not low <= number <= high:
            raise ValueError(f"chat params[{name!r}] must be a number from {low} to {high}, got {number!r}")
        if name == "max_tokens" and not isinstance(number, int):
            raise ValueError(f"chat params['max_tokens'] must be an integer, got {number!r}")
    return MappingProxyType(dict(value))


def _strings(value: Sequence[str], field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"chat {field} must be a list of strings")
    return tuple(value)


def _tools(value: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        raise ValueError("chat tools must be a list of tool definitions")
    for index, tool in enumerate(value):
        function = tool.get("function", tool) if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise ValueError(f"chat tools[{index}] needs a function name (function.name)")
    return tuple(value)


@dataclasses.dataclass(frozen=True)
class ChatUI:
    """The options of one model's chat page, given when the model is added.

    ``app.models.add_model(path="/llm/", model="assistant.flm", name="assistant", chat={"title": "Ask me"})`` or
    ``chat=ChatUI(title="Ask me")``; ``chat=False`` serves no chat.

    Args:
        title: The page's title and heading; the model's name when not given.
        logo: An image shown beside the title: a relative, ``http(s)://`` or ``data:image/`` URL.
        colors: Colours of the light theme, by name (:data:`COLORS`), as CSS colours: ``{"accent": "#0b7285"}``.
        dark_colors: Colours of the dark theme, over ``colors``.
        system_prompt: The system prompt a new browser starts with (the person may edit it).
        suggestions: Prompts offered as buttons in an empty conversation.
        tools: Tool definitions (``{"type": "function", "function": {"name": ..., "parameters": ...}}``) sent with
            every request, so that the model may call them; the person answers each call with its result.
        params: Generation settings the page starts with (:data:`PARAMS`): ``{"temperature": 0.2}``.

    Raises:
        ValueError: An option that is not valid (an unknown colour, a ``javascript:`` logo, a setting out of range).
    """

    title: str | None = None
    logo: str | None = None
    colors: Mapping[str, str] = dataclasses.field(default_factory=dict)
    dark_colors: Mapping[str, str] = dataclasses.field(default_factory=dict)
    system_prompt: str = ""
    suggestions: Sequence[str] = ()
    tools: Sequence[Mapping[str, Any]] = ()
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.title is not None and not isinstance(self.title, str):
            raise ValueError("chat title must be a string")
        if not isinstance(self.system_prompt, str):
            raise ValueError("chat system_prompt must be a string")
        object.__setattr__(self, "logo", _logo(self.logo))
        object.__setattr__(self, "colors", _colors(self.colors, "colors"))
        object.__setattr__(self, "dark_colors", _colors(self.dark_colors, "dark_colors"))
        object.__setattr__(self, "suggestions", _strings(self.suggestions, "suggestions"))
        object.__setattr__(self, "tools", _tools(self.tools))
        object.__setattr__(self, "params", _params(self.params))

    @classmethod
    def of(cls, value: "ChatUI | Mapping[str, Any] | None") -> "ChatUI":
        """The options from a :class:`ChatUI`, a mapping of its fields, or ``None`` (the defaults).

        Raises:
            ValueError: A mapping with a key that is not an option, or an option that is not valid.
        """
        if value is None:
            return cls()
        if isinstance(value, ChatUI):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"chat options must be a ChatUI or a mapping, got {type(value).__name__}")
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"unknown chat option {unknown[0]!r}; known: {', '.join(sorted(names))}")
        return cls(**value)

    def config(self, *, title: str, api_base: str, storage_key: str) -> dict[str, Any]:
        """The JSON the page reads at start.

        Args:
            title: The title used when the options set none (the model's name).
            api_base: The model's native API, relative to the page (``../``) or absolute.
            storage_key: Keeps this model's conversations apart from other models' in the same browser.
        """
        return {
            "title": self.title or title,
            "logo": self.logo,
            "colors": dict(self.colors),
            "dark_colors": dict(self.dark_colors),
            "system_prompt": self.system_prompt,
            "suggestions": list(self.suggestions),
            "tools": [dict(tool) for tool in self.tools],
            "params": dict(self.params),
            "api_base": api_base,
            "storage_key": storage_key,
        }
