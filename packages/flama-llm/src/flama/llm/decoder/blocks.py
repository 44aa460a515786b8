"""The streaming decoder: model output text in, canonical block events out.

The decoder is a small state machine over modes (output text, reasoning, tool-call body, a possibly bare call, and
gpt-oss headers). In each mode a :class:`~flama.llm.decoder.scanner.Scanner` looks only for the markers that mean
something there, so tool markers inside reasoning stay text, and closers met where nothing is open are dropped.

Whitespace is handled deliberately, the same way for every family: whitespace at the start and at the end of a block
(next to a marker, or at the end of the output) is dropped; whitespace inside a block is kept as written. To know
whether whitespace is trailing, the decoder holds it back until more content of the same block arrives. Blocks with
no content other than whitespace are never emitted.
"""

import functools
import random
import re
import secrets

from flama.llm.decoder.scanner import Scanner
from flama.llm.decoder.spec import DecoderSpec
from flama.llm.decoder.tools import PARSERS, ToolCall, arguments_object, encode
from flama.llm.events import BlockDelta, BlockKind, BlockStart, BlockStop, Event

__all__ = ["Decoder"]

TEXT, THINKING, TOOL, BARE, HEADER = range(5)
HARMONY_ENDS = ("<|end|>", "<|call|>", "<|return|>")
HARMONY_HEADER = ("<|start|>", "<|channel|>", "<|constrain|>", "<|message|>", *HARMONY_ENDS)
HARMONY_CHANNEL = re.compile(r"<\|channel\|>\s*([^\s<]+)")
HARMONY_RECIPIENT = re.compile(r"\bto=([^\s<]+)")
NOTHING = Scanner(())


@functools.lru_cache(maxsize=64)
def scanners(spec: DecoderSpec) -> tuple[Scanner, ...]:
    """One scanner per mode (indexed by the mode constants), looking only for the markers that mode reacts to."""
    if spec.harmony:
        body = Scanner((*HARMONY_ENDS, "<|start|>"))
        return body, body, body, NOTHING, Scanner(HARMONY_HEADER)
    reasoning = spec.reasoning or ()
    text = Scanner((*reasoning, spec.tool_open or "", spec.tool_close or "", *spec.drop))
    thinking = Scanner((reasoning[1], *spec.drop)) if reasoning else text
    tool = Scanner((spec.tool_close or "", *spec.drop))
    return text, thinking, tool, NOTHING, NOTHING


class Decoder:
    """Turns a model's output, fed in deltas of any size, into block events (text, thinking, tool calls).

    Feed every delta to :meth:`feed`, then call :meth:`finish` once. A marker split across deltas is recognised as
    a whole and never appears in text. Tool calls are emitted whole once their body is complete: a start (with a
    unique ``call_…`` id and the function's name), one delta holding the arguments as a JSON object, and a stop. A
    body that does not parse is emitted as text, markers included, so nothing the model wrote is lost.

    Args:
        spec: The model family's markers (see :func:`~flama.llm.decoder.detect_spec`).
        seed: Makes tool-call ids deterministic (for tests); random otherwise.
    """

    __slots__ = (
        "_bare",
        "_body",
        "_header",
        "_hold",
        "_kind",
        "_mode",
        "_name",
        "_next",
        "_open",
        "_out",
        "_pending",
        "_random",
        "_scanners",
        "_seen",
        "_spec",
        "_tool_called",
    )

    def __init__(self, spec: DecoderSpec, *, seed: int | None = None) -> None:
        self._spec = spec
        self._scanners = scanners(spec)
        self._mode = THINKING if spec.starts_in_reasoning else HEADER if spec.harmony else TEXT
        self._bare = bool(spec.bare_tools) and self._mode == TEXT
        self._pending = ""  # a tail that may be the start of a marker
        self._hold = ""  # whitespace at the end of the open block, emitted only if more content follows
        self._open = -1
        self._kind: BlockKind = "text"
        self._next = 0
        self._body: list[str] = []
        self._header: list[str] = []
        self._name = ""
        self._seen = False
        self._random = random.Random(seed) if seed is not None else None
        self._tool_called = False
        self._out: list[Event] = []

    @property
    def spec(self) -> DecoderSpec:
        """The spec this decoder follows."""
        return self._spec

    @property
    def tool_called(self) -> bool:
        """Whether a tool call was emitted (callers then report the stop reason as tool use)."""
        return self._tool_called

    def feed(self, text: str) -> list[Event]:
        """Decode one delta of output.

        Args:
            text: The next piece of output text, of any size.

        Returns:
            The events this delta completes (possibly none: a partial marker or a tool-call body waits for more).
        """
        out = self._out = []
        buffer = self._pending + text
        self._pending = ""
        if self._bare:
            head = buffer.lstrip()
            if not head:
                self._pending = buffer
                return out
            self._bare = False
            if head[0] in "{[":
                self._mode = BARE
        self._scan(buffer)
        return out

    def finish(self) -> list[Event]:
        """End the output: flush what was held back, complete an unterminated tool call, and close the last block.

        Returns:
            The remaining events.
        """
        out = self._out = []
        self._bare = False
        self._flush()
        self._close()
        return out

    def _scan(self, buffer: str) -> None:
        while buffer:
            before, marker, buffer = self._scanners[self._mode].split(buffer)
            if before:
                self._content(before)
            if marker is None:
                self._pending = buffer
                return
            if self._spec.harmony:
                self._harmony(marker)
            else:
                self._marker(marker)

    def _flush(self) -> None:
        tail, self._pending = self._pending, ""
        if tail:
            self._content(tail)
        if self._mode == TOOL:
            self._end_call(closed=False)
        elif self._mode == BARE:
            body = "".join(self._body)
            self._body = []
            for name in self._spec.bare_tools:
                calls = PARSERS[name](body)
                if calls is not None:
                    self._calls(calls)
                    return
            self._mode = TEXT
            self._scan(body)
            self._flush()
        elif self._mode == HEADER and not self._seen:
            # The model never wrote a harmony message: what it wrote is its answer.
            self._emit("text", "".join(self._header))

    def _content(self, piece: str) -> None:
        mode = self._mode
        if mode == TEXT:
            self._emit("text", piece)
        elif mode == THINKING:
            self._emit("thinking", piece)
        elif mode == HEADER:
            self._header.append(piece)
        else:
            self._body.append(piece)

    def _emit(self, kind: BlockKind, piece: str) -> None:
        if self._open >= 0 and self._kind != kind:
            self._close()
        text = self._hold + piece if self._hold else piece
        content = text.rstrip()
        if not content:
            self._hold = text if self._open >= 0 else ""
            return
        self._hold = text[len(content) :]
        if self._open < 0:
            content = content.lstrip()
            self._start(kind)
        self._out.append(BlockDelta(self._open, content))

    def _start(self, kind: BlockKind, tool_id: str | None = None, tool_name: str | None = None) -> None:
        self._open, self._kind = self._next, kind
        self._next += 1
        self._out.append(BlockStart(self._open, kind, tool_id, tool_name))

    def _close(self) -> None:
        if self._open >= 0:
            self._out.append(BlockStop(self._open))
            self._open = -1
        self._hold = ""

    def _marker(self, marker: str) -> None:
        spec = self._spec
        if self._mode == TEXT:
            if spec.reasoning is not None and marker == spec.reasoning[0]:
                self._close()
                self._mode = THINKING
            elif marker == spec.tool_open:
                self._close()
                self._mode = TOOL
            # Anything else here is a stray closer or a dropped marker: it vanishes.
        elif self._mode == THINKING:
            if spec.reasoning is not None and marker == spec.reasoning[1]:
                self._close()
                self._mode = TEXT
        elif marker == spec.tool_close:
            self._end_call(closed=True)

    def _end_call(self, *, closed: bool) -> None:
        body = "".join(self._body)
        self._body = []
        self._mode = TEXT
        if self._spec.harmony:
            arguments = arguments_object(body.strip())
            calls = None if arguments is None or not self._name else [ToolCall(self._name, encode(arguments))]
            raw = body
        else:
            calls = PARSERS[self._spec.tool_parser](body)
            raw = f"{self._spec.tool_open}{body}{self._spec.tool_close if closed else ''}"
        if calls is None:
            self._emit("text", raw)
        else:
            self._calls(calls)

    def _calls(self, calls: list[ToolCall]) -> None:
        self._close()
        for call in calls:
            self._start("tool_call", self._call_id(), call.name)
            self._out.append(BlockDelta(self._open, call.arguments))
            self._close()
        self._tool_called = True

    def _call_id(self) -> str:
        suffix = secrets.token_hex(12) if self._random is None else f"{self._random.getrandbits(96):024x}"
        return f"call_{suffix}"

    def _harmony(self, marker: str) -> None:
        if self._mode == HEADER:
            if marker == "<|message|>":
                self._message("".join(self._header))
            elif marker in ("<|channel|>", "<|constrain|>"):
                self._header.append(marker)
            else:
                # A new header starts; an end marker here is stray and dropped.
                self._header = []
            return
        # Any end (or a new header's start) ends the message.
        if self._mode == TOOL:
            self._end_call(closed=True)
        self._close()
        self._mode = HEADER
        self._header = []

    def _message(self, header: str) -> None:
        self._header = []
        self._seen = True
        recipient = HARMONY_RECIPIENT.search(header)
        channel = HARMONY_CHANNEL.search(header)
        if recipient is not None:
            self._close()
            self._mode = TOOL
            self._name = recipient.group(1).removeprefix("functions.")
        elif channel is not None and channel.group(1) == "analysis":
            self._mode = THINKING
        else:
            self._mode = TEXT
