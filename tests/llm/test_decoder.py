"""The decoder's guarantees, its scanner, its tool-call parsers and family detection."""

import dataclasses
import json
import random
from typing import Any

import pytest
from flama.llm.decoder import PARSERS, SPECS, Decoder, DecoderSpec, Scanner, ToolCall, detect_spec, spec_by_name
from flama.llm.decoder.tools import deepseek_token
from flama.llm.events import BlockDelta, BlockStart, BlockStop

from tests.llm.decoding import blocks, chunked, decode

QWEN3 = SPECS["qwen3"]
FRAGMENTS = [
    *(
        marker
        for spec in SPECS.values()
        for marker in (*(spec.reasoning or ()), spec.tool_open, spec.tool_close, *spec.drop)
        if marker
    ),
    *("<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|call|>", "<|return|>", "<|constrain|>"),
    *(" to=functions.f ", "analysis", "final", "commentary", "[ARGS]", '<|"|>', "call:f{a:1}", "f(x=1)", "[", "]"),
    *('{"name": "f", "arguments": {"a": 1}}', '{"name": "g", "parameters": {}}', "<function=f>", "</function>"),
    *("<parameter=a>", "1", "</parameter>", "hello", " ", "\n", "<", "<t", "<|", "[T", "x < y", "{", "}"),
]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def text(value: str) -> dict[str, Any]:
    return {"kind": "text", "text": value}


def thinking(value: str) -> dict[str, Any]:
    return {"kind": "thinking", "text": value}


def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "tool_call", "name": name, "arguments": arguments}


class TestCaseScanner:
    @pytest.mark.parametrize(
        ("markers", "text", "expected"),
        [
            pytest.param(["<think>"], "plain text", ("plain text", None, ""), id="no-marker"),
            pytest.param(["<think>"], "a<think>b", ("a", "<think>", "b"), id="marker"),
            pytest.param(["<think>"], "a <thin", ("a ", None, "<thin"), id="partial-tail-held"),
            pytest.param(["<think>"], "a <b> <", ("a <b> ", None, "<"), id="only-the-possible-tail"),
            pytest.param(["<think>"], "a <x", ("a <x", None, ""), id="impossible-tail-released"),
            pytest.param(["[A]", "[ARGS]"], "x[ARGS]y", ("x", "[ARGS]", "y"), id="longest-at-same-place"),
            pytest.param(["</a>", "<b>"], "1<b>2</a>", ("1", "<b>", "2</a>"), id="earliest-wins"),
            pytest.param([], "any <think>", ("any <think>", None, ""), id="no-markers"),
        ],
    )
    def test_split(self, markers, text, expected):
        assert Scanner(markers).split(text) == expected


class TestCaseDecoder:
    @pytest.mark.parametrize(
        ("spec", "output", "expected"),
        [
            pytest.param(
                QWEN3,
                "<think>a</think>b" + CALL,
                [thinking("a"), text("b"), call("get_weather", {"city": "Paris"})],
                id="qwen3",
            ),
            pytest.param(SPECS["gemma4"], "<|channel>thought\nx<channel|>y", [thinking("x"), text("y")], id="gemma4"),
            pytest.param(
                SPECS["gpt_oss"],
                "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>final<|message|>y<|return|>",
                [thinking("x"), text("y")],
                id="harmony",
            ),
        ],
    )
    def test_split_markers_never_leak(self, spec, output, expected):
        for size in range(1, len(output) + 1):
            events, _ = decode(spec, chunked(output, size))
            assert blocks(events) == expected, size

    @pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in SPECS])
    def test_chunking_never_changes_blocks(self, name):
        # Outputs stitched at random from every family's markers, partial markers, bodies and text: however the
        # output is cut, the blocks are the same.
        spec, generator = SPECS[name], random.Random(name)
        for _ in range(100):
            output = "".join(generator.choice(FRAGMENTS) for _ in range(generator.randint(1, 12)))
            expected = blocks(decode(spec, [output])[0])
            for size in (1, 2, 3):
                assert blocks(decode(spec, chunked(output, size))[0]) == expected, (output, size)

    def test_partial_marker_waits(self):
        decoder = Decoder(QWEN3)
        assert decoder.feed("Hi <th") == [BlockStart(0, "text"), BlockDelta(0, "Hi")]
        assert decoder.feed("ink>") == [BlockStop(0)]
        assert decoder.feed("hmm") == [BlockStart(1, "thinking"), BlockDelta(1, "hmm")]
        assert decoder.finish() == [BlockStop(1)]

    def test_partial_marker_at_the_end_is_text(self):
        events, _ = decode(QWEN3, ["a <thin"])
        assert blocks(events) == [text("a <thin")]

    @pytest.mark.parametrize(
        ("spec", "output", "expected"),
        [
            pytest.param(SPECS["deepseek_r1"], "x</think>y", [thinking("x"), text("y")], id="deepseek_r1"),
            pytest.param(
                QWEN3.for_prompt("<|im_start|>assistant\n<think>\n"),
                "x</think>y",
                [thinking("x"), text("y")],
                id="qwen3",
            ),
            pytest.param(
                dataclasses.replace(SPECS["gpt_oss"], starts_in_reasoning=True),
                "x<|end|><|start|>assistant<|channel|>final<|message|>y",
                [thinking("x"), text("y")],
                id="harmony",
            ),
        ],
    )
    def test_pre_opened_reasoning(self, spec, output, expected):
        events, _ = decode(spec, [output])
        assert blocks(events) == expected

    @pytest.mark.parametrize(
        ("prompt", "expected"),
        [
            pytest.param("<|im_start|>assistant\n<think>\n", True, id="open"),
            pytest.param("<|im_start|>assistant\n<think>\n\n</think>\n\n", False, id="closed"),
            pytest.param("<think>old</think>answer<|im_start|>assistant\n", False, id="earlier-turn"),
            pytest.param("<|im_start|>assistant\n", False, id="none"),
        ],
    )
    def test_for_prompt(self, prompt, expected):
        assert QWEN3.for_prompt(prompt).starts_in_reasoning is expected
        assert SPECS["deepseek_r1"].for_prompt(prompt).starts_in_reasoning is expected

    def test_for_prompt_without_reasoning(self):
        assert SPECS["hermes"].for_prompt("<think>") is SPECS["hermes"]

    def test_tool_markers_inside_reasoning_are_text(self):
        events, decoder = decode(QWEN3, ["<think>" + CALL + "</think>done"])
        assert blocks(events) == [thinking(CALL), text("done")]
        assert decoder.tool_called is False

    @pytest.mark.parametrize(
        ("spec", "output", "expected"),
        [
            pytest.param(QWEN3, "a</think>b</tool_call>c", "abc", id="qwen3"),
            pytest.param(SPECS["gemma4"], "a<channel|>b<tool_call|>c<turn|>", "abc", id="gemma4"),
            pytest.param(SPECS["mistral"], "a[/THINK]b</s>", "ab", id="mistral"),
        ],
    )
    def test_stray_closers_are_dropped(self, spec, output, expected):
        events, _ = decode(spec, list(output))
        assert blocks(events) == [text(expected)]

    def test_stray_harmony_ends_are_dropped(self):
        events, _ = decode(SPECS["gpt_oss"], ["<|end|><|channel|>final<|message|>ok<|return|><|end|>"])
        assert blocks(events) == [text("ok")]

    @pytest.mark.parametrize(
        ("spec", "output", "expected"),
        [
            pytest.param(
                QWEN3, "<tool_call>{oops}</tool_call> after", "<tool_call>{oops}</tool_call> after", id="json"
            ),
            pytest.param(
                QWEN3, '<tool_call>{"name": "f", "arguments": {', '<tool_call>{"name": "f", "arguments": {', id="cut"
            ),
            pytest.param(QWEN3, '<tool_call>["x"]</tool_call>', '<tool_call>["x"]</tool_call>', id="not-a-call"),
            pytest.param(SPECS["mistral"], "[TOOL_CALLS]f[ARGS]{", "[TOOL_CALLS]f[ARGS]{", id="mistral"),
            pytest.param(SPECS["llama3"], "<|python_tag|>print(1)", "<|python_tag|>print(1)", id="python-tag-code"),
            pytest.param(SPECS["pythonic"], "[f(1)]", "[f(1)]", id="pythonic-positional"),
            pytest.param(
                SPECS["gemma4"], "<|tool_call>call:f{x:}<tool_call|>", "<|tool_call>call:f{x:}<tool_call|>", id="gemma4"
            ),
            pytest.param(
                SPECS["gpt_oss"],
                "<|channel|>commentary to=functions.f<|message|>not json<|call|>",
                "not json",
                id="harmony",
            ),
        ],
    )
    def test_malformed_tool_calls_become_text(self, spec, output, expected):
        events, decoder = decode(spec, list(output))
        assert blocks(events) == [text(expected)]
        assert decoder.tool_called is False

    def test_unterminated_call_that_parses_is_a_call(self):
        events, decoder = decode(QWEN3, ['<tool_call>{"name": "f", "arguments": {}}'])
        assert blocks(events) == [call("f", {})]
        assert decoder.tool_called is True

    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            pytest.param("\n\n  Hello  \n", [text("Hello")], id="block-edges"),
            pytest.param("a \n b", [text("a \n b")], id="inside-kept"),
            pytest.param("<think>\n\n</think>\n\nHi", [text("Hi")], id="empty-block-skipped"),
            pytest.param("   ", [], id="only-whitespace"),
            pytest.param(
                "<think> x </think>\n\n y \n" + CALL + "\n",
                [thinking("x"), text("y"), call("get_weather", {"city": "Paris"})],
                id="around-markers",
            ),
        ],
    )
    def test_whitespace(self, output, expected):
        for size in (1, 2, len(output)):
            events, _ = decode(QWEN3, chunked(output, size))
            assert blocks(events) == expected

    def test_trailing_whitespace_is_held_until_content_follows(self):
        decoder = Decoder(QWEN3)
        assert decoder.feed("a ") == [BlockStart(0, "text"), BlockDelta(0, "a")]
        assert decoder.feed(" ") == []
        assert decoder.feed("b") == [BlockDelta(0, "  b")]
        assert decoder.finish() == [BlockStop(0)]

    def test_tool_call_events(self):
        events, decoder = decode(QWEN3, [CALL], seed=7)
        tool_id = Decoder(QWEN3, seed=7)._call_id()
        assert events == [
            BlockStart(0, "tool_call", tool_id, "get_weather"),
            BlockDelta(0, '{"city": "Paris"}'),
            BlockStop(0),
        ]
        assert decoder.tool_called is True

    def test_tool_ids_are_unique_and_deterministic_under_a_seed(self):
        output = CALL * 3

        def ids(seed: int) -> list[str | None]:
            events, _ = decode(QWEN3, [output], seed=seed)
            return [event.tool_id for event in events if isinstance(event, BlockStart)]

        first = ids(1)
        assert len(set(first)) == 3
        assert ids(1) == first
        assert ids(2) != first
        unseeded = Decoder(QWEN3)
        assert unseeded._call_id() != unseeded._call_id()

    def test_text_blocks_around_reasoning_get_their_own_indices(self):
        events, _ = decode(QWEN3, ["a<think>b</think>c"])
        assert [event for event in events if isinstance(event, BlockStart)] == [
            BlockStart(0, "text"),
            BlockStart(1, "thinking"),
            BlockStart(2, "text"),
        ]

    def test_bare_call_waits_for_the_end(self):
        decoder = Decoder(SPECS["llama3"], seed=0)
        assert decoder.feed('{"name": "f", ') == []
        assert decoder.feed('"parameters": {"x": 1}}') == []
        assert [type(event) for event in decoder.finish()] == [BlockStart, BlockDelta, BlockStop]
        assert decoder.tool_called is True

    def test_bare_fallback_still_honours_markers(self):
        events, _ = decode(SPECS["llama3"], ['{"a": 1} then <|python_tag|>{"name": "f", "parameters": {}}'])
        assert blocks(events) == [text('{"a": 1} then'), call("f", {})]

    def test_harmony_without_messages_is_text(self):
        events, _ = decode(SPECS["gpt_oss"], ["Just an answer."])
        assert blocks(events) == [text("Just an answer.")]

    def test_harmony_builtin_recipient(self):
        events, _ = decode(SPECS["gpt_oss"], ['<|channel|>analysis to=browser.search<|message|>{"query": "x"}<|call|>'])
        assert blocks(events) == [call("browser.search", {"query": "x"})]


class TestCaseToolParsers:
    @pytest.mark.parametrize(
        ("parser", "body", "expected"),
        [
            pytest.param(
                "json", '{"name": "f", "arguments": "{\\"a\\": 1}"}', [("f", {"a": 1})], id="json-string-arguments"
            ),
            pytest.param(
                "json",
                '[{"name": "f"}, {"name": "g", "parameters": {"b": [1]}}]',
                [("f", {}), ("g", {"b": [1]})],
                id="json-array",
            ),
            pytest.param("json", '{"name": "f", "arguments": {}, "extra": 1}', None, id="json-unknown-key"),
            pytest.param("json", '{"name": "f x", "arguments": {}}', None, id="json-bad-name"),
            pytest.param("json", '{"name": "f", "arguments": [1]}', None, id="json-arguments-not-object"),
            pytest.param("json", "", None, id="json-empty"),
            pytest.param("tagged", ' {"name": "f", "arguments": {"a": "é"}}', [("f", {"a": "é"})], id="tagged-json"),
            pytest.param(
                "function_tags",
                "<function=f>\n<parameter=a>\ntrue\n</parameter>\n</function>\n<function=g>\n</function>",
                [("f", {"a": True}), ("g", {})],
                id="function-tags",
            ),
            pytest.param(
                "function_tags",
                "<function=f>\n<parameter=a>\nx\n</function>",
                None,
                id="function-tags-unclosed-parameter",
            ),
            pytest.param("function_tags", "<function=f></function> trailing", None, id="function-tags-trailing-text"),
            pytest.param("mistral", "f[ARGS]{}", [("f", {})], id="mistral-args"),
            pytest.param("mistral", 'f[ARGS]"x"', None, id="mistral-args-not-object"),
            pytest.param("mistral", "f x[ARGS]{}", None, id="mistral-bad-name"),
            pytest.param(
                "pythonic",
                "tools.f(a=None, b={'k': (1, 2)})",
                [("tools.f", {"a": None, "b": {"k": [1, 2]}})],
                id="pythonic-dotted",
            ),
            pytest.param("pythonic", "[f(**kw)]", None, id="pythonic-star-kwargs"),
            pytest.param("pythonic", "[f(a=b)]", None, id="pythonic-name-value"),
            pytest.param("pythonic", "[1, 2]", None, id="pythonic-not-calls"),
            pytest.param("pythonic", "[f(a=1)", None, id="pythonic-syntax"),
            pytest.param(
                "gemma",
                'call:f{a:<|"|>x, y: z<|"|>,b:{c:[1,2]}}',
                [("f", {"a": "x, y: z", "b": {"c": [1, 2]}})],
                id="gemma",
            ),
            pytest.param(
                "deepseek",
                deepseek_token("tool", "call", "begin")
                + "f"
                + deepseek_token("tool", "sep")
                + '{"a": 1}'
                + deepseek_token("tool", "call", "end"),
                [("f", {"a": 1})],
                id="deepseek",
            ),
            pytest.param("deepseek", 'f{"a": 1}', None, id="deepseek-no-call-token"),
            pytest.param(
                "deepseek",
                deepseek_token("tool", "call", "begin") + 'f{"a": 1}' + deepseek_token("tool", "call", "end"),
                None,
                id="deepseek-no-separator",
            ),
            pytest.param(
                "deepseek",
                deepseek_token("tool", "call", "begin")
                + "function"
                + deepseek_token("tool", "sep")
                + "f\n```json\n{\n```",
                None,
                id="deepseek-unclosed",
            ),
            pytest.param("gemma", "f{a:1}", None, id="gemma-no-call-prefix"),
            pytest.param("gemma", "call:f{a:[1}", None, id="gemma-bad-value"),
        ],
    )
    def test_parse(self, parser, body, expected):
        calls = PARSERS[parser](body)
        if expected is None:
            assert calls is None
        else:
            assert calls is not None
            assert [(item.name, json.loads(item.arguments)) for item in calls] == expected
            assert all(isinstance(item, ToolCall) for item in calls)


class TestCaseSpecs:
    def test_spec_by_name(self):
        assert spec_by_name("qwen3") is SPECS["qwen3"]

    def test_spec_by_name_unknown(self):
        with pytest.raises(
            ValueError, match=r"^Unknown decoder family 'nope'; known families: deepseek_r1, deepseek_v3, gemma4, "
        ):
            spec_by_name("nope")

    def test_unknown_tool_format(self):
        with pytest.raises(ValueError, match=r"^Decoder spec 'x': unknown tool-call format 'yaml'$"):
            DecoderSpec("x", tool_parser="yaml")

    @pytest.mark.parametrize(
        ("template", "tokens", "expected"),
        [
            pytest.param(None, [], "plain", id="no-template"),
            pytest.param(None, ["<|channel|>", "<|message|>"], "gpt_oss", id="harmony-tokens"),
            pytest.param(None, ["[TOOL_CALLS]"], "mistral", id="mistral-tokens"),
            pytest.param(None, ["<|python_tag|>"], "llama3", id="llama-tokens"),
            pytest.param("<tool_call></tool_call>", [], "hermes", id="hermes"),
            pytest.param("<tool_call><think>", [], "qwen3", id="qwen3"),
            pytest.param("<think>", [], "think", id="think"),
        ],
    )
    def test_detect(self, template, tokens, expected):
        assert detect_spec(template, tokens).name == expected

    def test_detect_pre_opened_reasoning(self):
        template = "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}<tool_call>"
        spec = detect_spec(template, [])
        assert (spec.name, spec.starts_in_reasoning) == ("qwen3", True)
