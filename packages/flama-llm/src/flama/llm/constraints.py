"""Constrained decoding: JSON answers, forced tool calls and thinking budgets, enforced token by token.

A dialect turns ``response_format`` / ``format``, ``tool_choice`` and a thinking budget into a :class:`Constraint`
(checked at once: a bad schema is a 400 naming the field). Once the prompt is rendered, :func:`bind` writes the
constraint as one grammar in llguidance's Lark dialect, in the model family's own syntax (its reasoning markers and
tool-call markers from the decoder spec), so the decoder reads the constrained output like any other. The batched
backends start a :class:`Guide` per generation: before each sampling step it masks every token the grammar forbids,
and it advances with each token sampled. vLLM gets the same grammar through its own structured outputs.

llguidance (`guidance-ai/llguidance`) computes the masks: a small Rust wheel with no dependency (no torch: the MLX path
stays lean), a JSON-schema compiler and a Lark dialect with per-rule token limits, and a token mask in tens of
microseconds for large vocabularies.
"""

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flama.llm.exceptions import InvalidParameter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from flama.llm.decoder.spec import DecoderSpec

__all__ = ["Constraint", "Guide", "Guides", "ToolSchema", "bind"]

# JSON is written compactly, the way models write it: no runs of free whitespace that could fill max_tokens.
JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
# Families whose tool calls are JSON objects ``{"name", "arguments"}`` between an open and a close marker.
JSON_CALL_PARSERS = ("tagged", "json")


@dataclasses.dataclass(frozen=True, slots=True)
class ToolSchema:
    """A tool the model may be made to call: its name and its arguments' JSON schema."""

    name: str
    parameters: Mapping[str, Any]


def _styled(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {**schema, "x-guidance": {**JSON_STYLE, **dict(schema.get("x-guidance") or {})}}


def _check_schema(schema: Any, field: str) -> dict[str, Any]:
    """The schema as a dict, after llguidance compiled it.

    Raises:
        InvalidParameter: Not an object, or a schema llguidance cannot compile (naming ``field``).
    """
    import llguidance

    if not isinstance(schema, Mapping):
        raise InvalidParameter(field, "must be a JSON schema (an object)")
    try:
        error = llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_json_schema(_styled(schema)))
    except ValueError as exc:
        error = str(exc)
    if error:
        raise InvalidParameter(field, f"invalid JSON schema: {error.splitlines()[0]}")
    return dict(schema)


@dataclasses.dataclass(frozen=True, slots=True)
class Constraint:
    """What a generation's output must be.

    Attributes:
        schema: The answer is JSON valid against this schema (``{"type": "object"}`` for any object).
        tools: The answer is a call of one of these tools (its arguments valid against the tool's schema).
        single: At most one tool call.
        thinking_budget: Most tokens of reasoning before the family's reasoning-close marker.
        field: The request field that asked for it (for errors).
        grammar: The grammar in llguidance's Lark dialect (special tokens as ``<[id]>``), set by :func:`bind` once the
            prompt is known.
    """

    schema: dict[str, Any] | None = None
    tools: tuple[ToolSchema, ...] = ()
    single: bool = False
    thinking_budget: int | None = None
    field: str = "constraint"
    grammar: str | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def json(cls, schema: Any = None, field: str = "response_format") -> "Constraint":
        """A JSON answer: any object when ``schema`` is ``None``, else valid against ``schema``.

        Raises:
            InvalidParameter: The schema is invalid (naming ``field``).
        """
        return cls(schema={"type": "object"} if schema is None else _check_schema(schema, field), field=field)

    @classmethod
    def tool_call(
        cls, tools: Sequence[tuple[str, Any, str]], *, single: bool = False, field: str = "tool_choice"
    ) -> "Constraint":
        """A call of one of ``tools``: ``(name, parameters schema or None, its field)`` each.

        Raises:
            InvalidParameter: No tool, or a tool's schema is invalid.
        """
        if not tools:
            raise InvalidParameter(field, "forces a tool call, but no tool is offered")
        return cls(
            tools=tuple(
                ToolSchema(name, _check_schema({"type": "object"} if schema is None else schema, where))
                for name, schema, where in tools
            ),
            single=single,
            field=field,
        )

    def also(self, **changes: Any) -> "Constraint":
        """This constraint with more requirements (``single``, ``thinking_budget``)."""
        return dataclasses.replace(self, **changes)


def _marker(text: str, tokenizer: Any) -> str:
    """A marker in the grammar: the token itself when it is one token of the vocabulary, else its text."""
    token = tokenizer.convert_tokens_to_ids(text)
    if isinstance(token, int) and token != tokenizer.unk_token_id and text in tokenizer.get_added_vocab():
        return f"<[{token}]>"
    return json.dumps(text)


def _body(constraint: Constraint, spec: "DecoderSpec", tokenizer: Any) -> list[str]:
    """Lark rules for what follows the reasoning: ``body`` is the answer."""
    if constraint.schema is not None:
        return [f"body: %json {json.dumps(_styled(constraint.schema))}"]
    if constraint.tools:
        if spec.tool_open is None or spec.tool_close is None or spec.tool_parser not in JSON_CALL_PARSERS:
            raise InvalidParameter(
                constraint.field, f"a tool call cannot be enforced for the {spec.name!r} model family"
            )
        call = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"name": {"const": tool.name}, "arguments": dict(tool.parameters)},
                    "required": ["name", "arguments"],
                    "additionalProperties": False,
                }
                for tool in constraint.tools
            ]
        }
        return [
            "body: call" if constraint.single else 'body: call ("\\n" call)*',
            f'call: {_marker(spec.tool_open, tokenizer)} "\\n" arguments "\\n" {_marker(spec.tool_close, tokenizer)}',
            f"arguments: %json {json.dumps(_styled(call))}",
        ]
    if constraint.single and spec.tool_open is not None and spec.tool_close is not None:
        # Free text (which cannot hold the open marker: it is a special token), then at most one call.
        opened, closed = _marker(spec.tool_open, tokenizer), _marker(spec.tool_close, tokenizer)
        return ["body: TEXT? call?", r"TEXT: /(.|\n)+/", f"call: {opened} /(.|\\n)*/ {closed}"]
    return ["body: token*", "token: <[*]>"]


def bind(constraint: Constraint, spec: "DecoderSpec", tokenizer: Any) -> Constraint:
    """Write the constraint's grammar for a prompt, in the family's syntax.

    Args:
        constraint: What the output must be.
        spec: The family's decoder spec for this prompt (``starts_in_reasoning`` says whether the prompt opened a
            reasoning block).
        tokenizer: The model's HuggingFace tokenizer (markers that are single tokens are matched as such).

    Returns:
        The constraint with its grammar.

    Raises:
        InvalidParameter: The family cannot express it (a tool call in a family without tool-call markers; a thinking
            budget for a model that does not reason), or the grammar is invalid.
    """
    import llguidance

    rules = _body(constraint, spec, tokenizer)
    limit = "" if constraint.thinking_budget is None else f"[max_tokens={constraint.thinking_budget}]"
    if spec.reasoning is None:
        if constraint.thinking_budget is not None:
            raise InvalidParameter(constraint.field, f"the {spec.name!r} model family has no reasoning to budget")
        rules.insert(0, "start: body")
    else:
        opened, closed = (_marker(marker, tokenizer) for marker in spec.reasoning)
        reasoning = f'thought {closed} "\\n"?'
        start = reasoning if spec.starts_in_reasoning else f"({opened} {reasoning})?"
        rules[:0] = [f"start: {start} body", f"thought{limit}: /(.|\\n)*/"]
    grammar = "\n".join(rules)
    error = llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(grammar))
    if error:
        raise InvalidParameter(constraint.field, f"cannot be enforced: {error.splitlines()[0]}")
    return dataclasses.replace(constraint, grammar=grammar)


class Guide:
    """One generation's matcher: which tokens the grammar allows next, advanced with each sampled token.

    Args:
        matcher: llguidance's matcher for the generation's grammar.
        prompt: Prompt tokens at the start of the token sequences given to `allowed`.
        vocabulary: Tokens the matcher knows.
    """

    __slots__ = ("_matcher", "_prompt", "_seen", "vocabulary")

    def __init__(self, matcher: Any, prompt: int, vocabulary: int) -> None:
        self._matcher = matcher
        self._prompt = prompt
        self._seen = 0
        self.vocabulary = vocabulary

    def allowed(self, tokens: Sequence[int], width: int) -> "npt.NDArray[np.bool_]":
        """Take the tokens generated since the last call, then the mask of allowed next tokens.

        Args:
            tokens: The sequence so far (prompt and generated tokens).
            width: The logits' width (the model's output layer may be wider than the vocabulary).

        Raises:
            RuntimeError: A token the grammar forbids was generated (the matcher's error says which).
        """
        import numpy as np

        generated = tokens[self._prompt + self._seen :]
        self._seen += len(generated)
        for token in generated:
            # Once the grammar is complete only the end can follow; a library that runs a step ahead may still ask.
            if self._matcher.is_stopped():
                break
            if not self._matcher.consume_token(int(token)):
                raise RuntimeError(f"constrained decoding failed: {self._matcher.get_error().splitlines()[0]}")
        bits = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        mask = np.unpackbits(bits, bitorder="little").view(np.bool_)
        if mask.shape[0] >= width:
            return mask[:width]
        return np.concatenate((mask, np.zeros(width - mask.shape[0], dtype=np.bool_)))


class Guides:
    """Makes the guides of one model's generations (its tokenizer converted for llguidance once, when first needed).

    Args:
        tokenizer: The model's HuggingFace tokenizer (a fast one).
        eos: Token ids that end a generation (allowed once the grammar is complete).
    """

    def __init__(self, tokenizer: Any, eos: Sequence[int]) -> None:
        self.tokenizer = tokenizer
        self.eos = sorted(eos)
        self._converted: Any = None

    def _lltokenizer(self) -> Any:
        import llguidance

        if self._converted is None:
            backend = self.tokenizer.backend_tokenizer.to_str()
            self._converted = llguidance.LLTokenizer(backend, n_vocab=len(self.tokenizer), eos_token=self.eos)
        return self._converted

    def start(self, constraint: Constraint | None, prompt: int) -> Guide | None:
        """The guide of a generation (``None`` when it is not constrained).

        Args:
            constraint: The generation's bound constraint.
            prompt: Its prompt's length in tokens.

        Raises:
            ValueError: The constraint has no grammar (it was not bound), or llguidance refused it.
        """
        if constraint is None:
            return None
        if constraint.grammar is None:
            raise ValueError("the constraint has no grammar: bind() it to the prompt first")
        import llguidance

        tokenizer = self._lltokenizer()
        grammar = llguidance.LLMatcher.grammar_from_lark(constraint.grammar)
        matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(f"constrained decoding: {matcher.get_error().splitlines()[0]}")
        return Guide(matcher, prompt, tokenizer.vocab_size)
