"""Pack a HuggingFace-layout checkpoint into an LLM `.flm` file, with its capabilities detected from the files.

Capabilities are worked out once, when packaging, from ``config.json`` and the chat template, and stored in the
file's metadata (``Metadata.capabilities``), so a server can tell what a model does by reading a header:

- ``chat_template``: the checkpoint has one (``chat_template.jinja``, ``tokenizer_config.json``'s ``chat_template``
  or a processor's ``chat_template.json``).
- ``tools``: the template renders tool definitions and tool results (it shows a probe tool's name when given
  ``tools``, and a probe tool result's content in a conversation with a tool call and its result).
- ``reasoning``: reasoning can be switched: the template renders differently with ``enable_thinking`` on and off.
- ``vision`` / ``audio``: the config has an image or audio tower (``vision_config``, ``audio_config``, ...).
- ``context_length``: from the config (its ``text_config`` too), else the tokenizer's limit; ``None`` if unknown.

Templates are rendered with Jinja in a sandbox set up like transformers' (``trim_blocks``, ``lstrip_blocks``, loop
controls, ``tojson``, ``raise_exception``, ``strftime_now``, the ``{% generation %}`` block and the tokenizer's
special tokens such as ``bos_token``), so packaging needs neither torch nor transformers.
"""

import datetime
import functools
import json
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
import jinja2.sandbox
from flama.llm.backends.base import context_length
from flama.models import Metadata, dump

__all__ = ["detect_capabilities", "package", "read_chat_template"]

#: Config keys that hold an image or audio encoder's settings in multimodal checkpoints.
TOWER_KEYS = {
    "vision": ("vision_config", "vision_tower", "mm_vision_tower", "vision_encoder", "visual"),
    "audio": ("audio_config", "audio_tower", "audio_encoder", "speech_config"),
}

_PROBE_TOOL = "flama_probe_tool"
_PROBE_RESULT = "flama-probe-result-7f3a"
_PROBE_USER = {"role": "user", "content": "Hello"}


class _GenerationBlock(jinja2.ext.Extension):
    """``{% generation %}…{% endgeneration %}`` marks assistant text for training masks; rendering keeps its body."""

    tags = {"generation"}  # noqa: RUF012 (jinja2's Extension declares it as a plain class attribute)

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(pattern: str) -> str:
    return datetime.datetime.now().strftime(pattern)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, sort_keys=sort_keys)


#: Special tokens that transformers passes to every chat template render (``{{ bos_token }}`` and friends).
SPECIAL_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


def _compile(source: str, tokenizer_config: dict[str, Any]) -> Callable[..., str]:
    """``render(**context)`` for a chat template, with the tokenizer's special tokens in its context."""
    environment = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[_GenerationBlock, jinja2.ext.loopcontrols]
    )
    environment.filters["tojson"] = _tojson
    environment.globals |= {"raise_exception": _raise_exception, "strftime_now": _strftime_now}
    # tokenizer_config.json writes a token either as its text or as an AddedToken object holding it; unset tokens
    # stay undefined in the template, as in transformers.
    given = {key: tokenizer_config[key] for key in SPECIAL_TOKEN_KEYS if tokenizer_config.get(key) is not None}
    tokens = {key: token.get("content") if isinstance(token, dict) else token for key, token in given.items()}
    return functools.partial(environment.from_string(source).render, **tokens)


def read_chat_template(directory: str | os.PathLike[str]) -> str | None:
    """A checkpoint's chat template (its default one when it names several), or ``None`` when it has none.

    Looked up in ``chat_template.jinja``, then ``tokenizer_config.json``'s ``chat_template``, then
    ``chat_template.json`` (multimodal processors).
    """
    path = Path(directory)
    if (path / "chat_template.jinja").is_file():
        return (path / "chat_template.jinja").read_text(encoding="utf-8")
    for name in ("tokenizer_config.json", "chat_template.json"):
        if (path / name).is_file():
            template = json.loads((path / name).read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, list):  # named templates: [{"name": "default", "template": "…"}, …]
                named = {entry["name"]: entry["template"] for entry in template}
                template = named.get("default")
            if isinstance(template, str):
                return template
    return None


def _renders_tools(render: Callable[..., str]) -> bool:
    tool = {
        "type": "function",
        "function": {"name": _PROBE_TOOL, "description": "Probe.", "parameters": {"type": "object", "properties": {}}},
    }
    # Templates read tool-call arguments either as an object (transformers' convention) or as a JSON string (OpenAI's
    # wire format, which some templates concatenate): the first form that renders counts.
    forms: tuple[dict[str, Any] | str, ...] = ({}, "{}")
    for arguments in forms:
        call = {"id": "call_0", "type": "function", "function": {"name": _PROBE_TOOL, "arguments": arguments}}
        conversation = [
            _PROBE_USER,
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_0", "name": _PROBE_TOOL, "content": _PROBE_RESULT},
        ]
        try:
            definitions = render(messages=[_PROBE_USER], tools=[tool], add_generation_prompt=True)
            results = render(messages=conversation, tools=[tool], add_generation_prompt=True)
        except (jinja2.TemplateError, TypeError):  # refused with raise_exception, or the other arguments form
            continue
        return _PROBE_TOOL in definitions and _PROBE_RESULT in results
    return False


def _switches_reasoning(render: Callable[..., str]) -> bool:
    thinking, plain = (
        render(messages=[_PROBE_USER], add_generation_prompt=True, enable_thinking=enabled) for enabled in (True, False)
    )
    return thinking != plain


def detect_capabilities(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """What a checkpoint can do, from its ``config.json``, tokenizer config and chat template.

    Args:
        directory: A HuggingFace-layout checkpoint.

    Returns:
        ``chat_template``, ``tools``, ``reasoning``, ``vision`` and ``audio`` (booleans) and ``context_length``
        (tokens, or ``None``); see this module's description for how each is decided.

    Raises:
        FileNotFoundError: The directory has no ``config.json``.
        jinja2.TemplateError: The chat template does not parse, or fails on a plain user message.
        TypeError: The chat template fails on a plain user message (on values of the wrong type).
    """
    path = Path(directory)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    sections = (config, config.get("text_config") or {})
    tokenizer_config_path = path / "tokenizer_config.json"
    tokenizer_config = (
        json.loads(tokenizer_config_path.read_text(encoding="utf-8")) if tokenizer_config_path.is_file() else {}
    )
    try:
        # The backends' own rule; only the tokenizer's `model_max_length` is read from the tokenizer.
        limit: int | None = context_length(path, types.SimpleNamespace(**tokenizer_config))
    except ValueError:
        limit = None
    source = read_chat_template(path)
    render = None if source is None else _compile(source, tokenizer_config)
    return {
        "chat_template": render is not None,
        "tools": render is not None and _renders_tools(render),
        "reasoning": render is not None and _switches_reasoning(render),
        **{kind: any(section.get(key) for section in sections for key in keys) for kind, keys in TOWER_KEYS.items()},
        "context_length": limit,
    }


def package(
    directory: str | os.PathLike[str],
    destination: str | os.PathLike[str] | BinaryIO,
    *,
    capabilities: dict[str, Any] | None = None,
    **options: Any,
) -> Metadata:
    """Write a HuggingFace-layout checkpoint into an LLM `.flm` file, with its detected capabilities.

    Args:
        directory: The checkpoint (config, weights, tokenizer, chat template); bundled whole.
        destination: A file path, or a writable binary stream.
        capabilities: Entries that replace or add to the detected ones.
        **options: Passed to `flama.models.dump` (``extra``, ``artifacts``, ``compression``, ...).

    Returns:
        The metadata written.
    """
    detected = detect_capabilities(directory)
    return dump(
        Path(directory),
        destination,
        family="llm",
        lib="transformers",
        capabilities={**detected, **(capabilities or {})},
        **options,
    )
