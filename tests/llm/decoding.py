"""Helpers shared by the decoder tests: run a decoder over chunks and read its events back as blocks."""

import json
from collections.abc import Iterable
from typing import Any

from flama.llm.decoder import Decoder, DecoderSpec
from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event


def decode(spec: DecoderSpec, chunks: Iterable[str], seed: int = 0) -> tuple[list[Event], Decoder]:
    """Every event the decoder emits for ``chunks``, ``finish`` included, and the decoder itself."""
    decoder = Decoder(spec, seed=seed)
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.finish()
    return events, decoder


def blocks(events: list[Event]) -> list[dict[str, Any]]:
    """The message's blocks, checking the event grammar on the way: indices from 0, one block open at a time."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for event in events:
        if isinstance(event, BlockStart):
            assert current is None, f"{event} while block {len(found) - 1} is open"
            assert event.index == len(found), f"{event} out of order"
            current = {"kind": event.kind, "text": ""}
            if event.kind == "tool_call":
                assert str(event.tool_id).startswith("call_")
                current["name"], current["id"] = event.tool_name, event.tool_id
            found.append(current)
        elif isinstance(event, BlockDelta):
            assert current is not None, f"{event} outside a block"
            assert (event.index, bool(event.text)) == (len(found) - 1, True), f"stray {event}"
            current["text"] += event.text
        else:
            assert isinstance(event, BlockStop)
            assert current is not None, f"{event} outside a block"
            assert event.index == len(found) - 1, f"{event} out of order"
            current = None
    assert current is None, "the last block was never stopped"
    for block in found:
        if block["kind"] == "tool_call":
            block["arguments"] = json.loads(block.pop("text"))
            del block["id"]
    return found


def chunked(text: str, size: int) -> list[str]:
    """``text`` cut in pieces of ``size`` characters."""
    return [text[start : start + size] for start in range(0, len(text), size)]
