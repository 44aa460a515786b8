"""Decoder specs: the markers a model family writes, the known families, and their detection from a chat template.

A :class:`DecoderSpec` is plain data. :func:`detect_spec` picks the family from a model's chat template and its
tokenizer's special tokens; :func:`spec_by_name` gives a known family by name, for a per-model override.
"""

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flama.llm.decoder.tools import PARSERS, deepseek_token

__all__ = ["SPECS", "DecoderSpec", "detect_spec", "spec_by_name"]


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    """How one model family marks reasoning and tool calls in its output.

    Attributes:
        name: The family's name (a key of :data:`SPECS` for the known ones).
        reasoning: The markers that open and close a reasoning block (``("<think>", "</think>")``), if any.
        starts_in_reasoning: Generation starts inside a reasoning block, because the prompt pre-opened it.
        tool_open: The marker that opens a tool-call body, if the family has one.
        tool_close: The marker that closes it; ``None`` when the body runs to the end of the output.
        tool_parser: The body's format, a key of :data:`flama.llm.decoder.tools.PARSERS`.
        bare_tools: Formats tried on an output that starts with ``{`` or ``[`` and may be nothing but calls
            (Llama's JSON and pythonic calls have no marker); such an output is held until the end to decide.
        drop: Markers removed wherever they appear (end-of-turn tokens a backend may leave in the text).
        harmony: The output follows gpt-oss's harmony format (headers, channels and messages).
    """

    name: str
    reasoning: tuple[str, str] | None = None
    starts_in_reasoning: bool = False
    tool_open: str | None = None
    tool_close: str | None = None
    tool_parser: str = "json"
    bare_tools: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    harmony: bool = False

    def __post_init__(self) -> None:
        unknown = [name for name in (self.tool_parser, *self.bare_tools) if name not in PARSERS]
        if unknown:
            raise ValueError(f"Decoder spec {self.name!r}: unknown tool-call format {unknown[0]!r}")

    def for_prompt(self, prompt: str) -> "DecoderSpec":
        """This spec, starting in reasoning exactly when ``prompt`` ends inside an open reasoning block.

        The rendered prompt is the surest sign: a template may pre-open the block only for some arguments
        (``enable_thinking``), and only the rendered text tells which.

        Args:
            prompt: The prompt as rendered by the model's chat template.

        Returns:
            A spec whose ``starts_in_reasoning`` matches the prompt (this one when it already does).
        """
        if self.reasoning is None:
            return self
        opened, closed = (prompt.rfind(marker) for marker in self.reasoning)
        inside = opened >= 0 and opened > closed
        return self if inside == self.starts_in_reasoning else dataclasses.replace(self, starts_in_reasoning=inside)


THINK = ("<think>", "</think>")
CHATML_END = ("<|im_end|>",)
LLAMA_END = ("<|eot_id|>", "<|eom_id|>")
DEEPSEEK_TOOLS: dict[str, Any] = {
    "tool_open": deepseek_token("tool", "calls", "begin"),
    "tool_close": deepseek_token("tool", "calls", "end"),
    "tool_parser": "deepseek",
    "drop": (deepseek_token("end", "of", "sentence"),),
}


def tagged(name: str, reasoning: tuple[str, str] | None = None) -> DecoderSpec:
    """A ChatML family whose calls sit between ``<tool_call>`` tags (JSON or Qwen3-Coder function tags)."""
    return DecoderSpec(
        name,
        tool_open="<tool_call>",
        tool_close="</tool_call>",
        tool_parser="tagged",
        drop=CHATML_END,
        reasoning=reasoning,
    )


SPECS: dict[str, DecoderSpec] = {
    spec.name: spec
    for spec in (
        DecoderSpec("plain"),
        DecoderSpec("think", reasoning=THINK),
        DecoderSpec("deepseek_r1", reasoning=THINK, starts_in_reasoning=True, **DEEPSEEK_TOOLS),
        DecoderSpec("deepseek_v3", **DEEPSEEK_TOOLS),
        tagged("hermes"),
        tagged("qwen3", reasoning=THINK),
        tagged("qwen3_coder"),
        DecoderSpec(
            "mistral",
            reasoning=("[THINK]", "[/THINK]"),
            tool_open="[TOOL_CALLS]",
            tool_parser="mistral",
            drop=("</s>",),
        ),
        DecoderSpec("llama3", tool_open="<|python_tag|>", tool_parser="llama", bare_tools=("json",), drop=LLAMA_END),
        # Llama 4 may wrap its pythonic calls in <|python_start|> ... <|python_end|>; Llama 3.2 writes them bare.
        DecoderSpec(
            "pythonic",
            tool_open="<|python_start|>",
            tool_close="<|python_end|>",
            tool_parser="pythonic",
            bare_tools=("pythonic",),
            drop=(*LLAMA_END, "<|eot|>", "<|eom|>"),
        ),
        DecoderSpec(
            "gemma4",
            reasoning=("<|channel>thought", "<channel|>"),
            tool_open="<|tool_call>",
            tool_close="<tool_call|>",
            tool_parser="gemma",
            drop=("<turn|>",),
        ),
        DecoderSpec("gpt_oss", harmony=True),
    )
}


def spec_by_name(name: str) -> DecoderSpec:
    """The known family ``name`` (a key of :data:`SPECS`).

    Args:
        name: The family, e.g. ``"qwen3"``, ``"gpt_oss"``, ``"mistral"``.

    Returns:
        Its spec.

    Raises:
        ValueError: No family has that name; the message lists the known ones.
    """
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"Unknown decoder family {name!r}; known families: {', '.join(sorted(SPECS))}") from None


def pre_opens(template: str, opener: str, closer: str) -> bool:
    """Whether the template's generation prompt opens a reasoning block and leaves it open."""
    position = template.rfind("add_generation_prompt")
    tail = template[position:] if position >= 0 else ""
    return opener in tail and closer not in tail


def detect_spec(chat_template: str | None, special_tokens: Iterable[str]) -> DecoderSpec:
    """Pick the decoder family from a model's chat template and its tokenizer's special tokens.

    The most specific markers win: harmony channels (gpt-oss), Gemma 4 channels, DeepSeek's tool-call tokens (with
    ``<think>``: R1), Mistral's ``[TOOL_CALLS]``, Llama's
    ``<|python_tag|>`` or pythonic instructions, ``<tool_call>`` (Hermes, Qwen; with ``<think>``: Qwen3), then
    ``<think>`` alone. A template whose generation prompt leaves ``<think>`` open starts in reasoning.

    Args:
        chat_template: The Jinja chat template's text, if the model has one.
        special_tokens: The tokenizer's special and added tokens.

    Returns:
        The detected spec; ``plain`` when nothing matches.
    """
    template = chat_template or ""
    tokens = frozenset(special_tokens)

    def has(*markers: str) -> bool:
        return all(marker in tokens or marker in template for marker in markers)

    name = "plain"
    if has("<|channel|>", "<|message|>"):
        name = "gpt_oss"
    elif has("<|channel>"):
        name = "gemma4"
    elif has(deepseek_token("tool", "calls", "begin")):
        name = "deepseek_r1" if "<think>" in template else "deepseek_v3"
    elif has("[TOOL_CALLS]"):
        name = "mistral"
    elif "func_name1(" in template:
        name = "pythonic"
    elif has("<|python_tag|>") or ("<|eot_id|>" in template and '"parameters"' in template):
        name = "llama3"
    elif has("<tool_call>"):
        name = "qwen3" if "<think>" in template else "qwen3_coder" if "<function=" in template else "hermes"
    elif "<think>" in template:
        name = "think"
    spec = SPECS[name]
    if spec.reasoning is not None and pre_opens(template, *spec.reasoning):
        spec = dataclasses.replace(spec, starts_in_reasoning=True)
    return spec
