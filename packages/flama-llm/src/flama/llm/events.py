"""Canonical generation events: what the decoder emits and every dialect renders.

A message is a sequence of blocks. Each block opens with :class:`BlockStart`, carries its content in one or more
:class:`BlockDelta` events and ends with :class:`BlockStop`. Blocks never overlap, and their indices count from 0 in
order of appearance within one message.
"""

from dataclasses import dataclass
from typing import Literal

__all__ = ["BlockDelta", "BlockKind", "BlockStart", "BlockStop", "Event"]

BlockKind = Literal["text", "thinking", "tool_call"]


@dataclass(frozen=True, slots=True)
class BlockStart:
    """A block opens.

    Attributes:
        index: The block's position in the message, from 0.
        kind: ``text`` (output shown to the user), ``thinking`` (reasoning) or ``tool_call``.
        tool_id: The call's unique id (``call_…``), for a tool call only.
        tool_name: The function the model calls, for a tool call only.
    """

    index: int
    kind: BlockKind
    tool_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True, slots=True)
class BlockDelta:
    """A piece of a block's content: text, or for a tool call its arguments as JSON (whole or in pieces).

    Attributes:
        index: The block this piece belongs to.
        text: The piece itself, never empty.
    """

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class BlockStop:
    """A block ends; no more deltas follow for its index.

    Attributes:
        index: The block that ends.
    """

    index: int


Event = BlockStart | BlockDelta | BlockStop
