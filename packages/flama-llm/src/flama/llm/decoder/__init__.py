"""The streaming decoder: splits a model's output into text, thinking and tool-call blocks.

``Decoder(detect_spec(template, special_tokens))`` follows the family the chat template uses; ``spec_by_name``
overrides the detection per model. See the package README's "Decoder" section.
"""

from flama.llm.decoder.blocks import Decoder
from flama.llm.decoder.scanner import Scanner
from flama.llm.decoder.spec import SPECS, DecoderSpec, detect_spec, spec_by_name
from flama.llm.decoder.tools import PARSERS, ToolCall

__all__ = ["PARSERS", "SPECS", "Decoder", "DecoderSpec", "Scanner", "ToolCall", "detect_spec", "spec_by_name"]
