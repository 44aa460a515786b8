r"""Build Flama's tiny demo language model from nothing: tokenizer, chat template, weights, and a short training run.

No model hub is reachable where Flama is developed and tested, so the project carries its own model: a llama-
architecture checkpoint with 131 thousand parameters, a byte-level BPE tokenizer trained here on the small
corpus below, and a chat template with system, user, assistant and tool roles, tool definitions and switchable
``<think>`` reasoning. A few seconds of training on CPU make greedy decoding reproduce the replies of the handful of
conversations in ``CONVERSATIONS`` exactly, through both mlx-lm and transformers; the script checks both and fails
loudly when one differs.

The chat template (``CHAT_TEMPLATE``) renders each turn as ``<|begin|>{role}\n{content}<|end|>\n``:

- A first ``system`` message becomes the system turn. When ``tools`` are given, the system turn also lists them, one
  JSON object per line inside ``<tools>…</tools>``, and says how to call one: ``<tool_call>\n{"name": …,
  "arguments": {…}}\n</tool_call>``.
- ``assistant`` messages render their ``reasoning_content`` (when present) as ``<think>\n…\n</think>\n``, then
  their content, then each of their ``tool_calls`` as a ``<tool_call>`` block.
- ``tool`` messages (tool results) are turns of role ``tool``; dict contents are rendered as JSON.
- ``add_generation_prompt`` opens the assistant turn. With ``enable_thinking=True`` it also pre-opens the reasoning
  block (the prompt ends with ``<think>\n``), so the model's reply starts inside its thought and closes it with
  ``</think>``; without it (the template's default) the model answers directly. mlx-lm's tokenizer wrapper passes
  ``enable_thinking=True`` unless told otherwise, so render through the transformers tokenizer, or pass it.

``<|end|>`` is the end-of-sequence token. ``<think>``, ``</think>``, ``<tool_call>`` and ``</tool_call>`` are single
tokens that are not "special": decoding keeps them in the text, where Flama's decoder finds them.

Training uses torch with transformers' own ``LlamaForCausalLM``: it is the reference implementation of the
architecture, it reads and writes the Hugging Face tensor names directly, and teacher-forced argmax over its logits
is exactly what greedy decoding follows, so the script can train until every reply token wins by a clear margin
(which keeps MLX, with its own kernels, on the same path).

Run it with ``make demo-model`` (or ``scripts/build-demo-model``); ``--random`` skips training (random weights, in
well under a second, for tests that only need files that load).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from flama.llm.packaging import package
from safetensors.numpy import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = Path(__file__).parent
FLM_NAME = "assistant.flm"
EXPECT_NAME = "assistant.expect.json"

PAD, BEGIN, END = "<|pad|>", "<|begin|>", "<|end|>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
TOOL_OPEN, TOOL_CLOSE = "<tool_call>", "</tool_call>"
#: Control tokens: role markers, end of sequence and padding; decoding with ``skip_special_tokens`` drops them.
SPECIAL_TOKENS = (PAD, BEGIN, END)
#: Markers that stay in decoded text as single tokens, for the reasoning and tool-call decoder to find.
MARKER_TOKENS = (THINK_OPEN, THINK_CLOSE, TOOL_OPEN, TOOL_CLOSE)

VOCAB_SIZE = 512
SEED = 20261123

CHAT_TEMPLATE = """\
{%- if messages and messages[0].role == 'system' -%}
    {%- set system = messages[0].content -%}
    {%- set turns = messages[1:] -%}
{%- else -%}
    {%- set system = none -%}
    {%- set turns = messages -%}
{%- endif -%}
{%- if system is not none or tools -%}
<|begin|>system
{% if system is not none %}{{ system }}{% if tools %}

{% endif %}{% endif -%}
{%- if tools %}# Tools
You may call these functions:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>
To call one, reply with <tool_call>
{"name": <function name>, "arguments": <arguments as a JSON object>}
</tool_call>{% endif %}<|end|>
{% endif -%}
{%- for message in turns -%}
    {%- if message.role == 'assistant' -%}
<|begin|>assistant
{% if message.reasoning_content %}<think>
{{ message.reasoning_content }}
</think>
{% endif %}{{ message.content or '' }}
        {%- for call in message.tool_calls or [] -%}
            {%- set function = call.function if call.function is defined else call -%}
            {%- set arguments = function.arguments -%}
<tool_call>
{"name": {{ function.name | tojson }}, "arguments": {{ arguments if arguments is string else arguments | tojson }}}
</tool_call>
        {%- endfor -%}
<|end|>
{% elif message.role == 'tool' -%}
<|begin|>tool
{{ message.content if message.content is string else message.content | tojson }}<|end|>
{% else -%}
<|begin|>{{ message.role }}
{{ message.content }}<|end|>
{% endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|begin|>assistant
{% if enable_thinking is defined and enable_thinking %}<think>
{% endif -%}
{%- endif -%}
"""

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city's name."}},
            "required": ["city"],
        },
    },
}
WEATHER_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}


@dataclass(frozen=True)
class Conversation:
    """One training conversation: what the prompt renders from, and the exact reply greedy decoding must give.

    Attributes:
        id: A short name, used by tests and in ``assistant.expect.json``.
        messages: The chat messages rendered by the chat template.
        reply: The assistant's reply, as generated after the prompt (the end-of-sequence token excluded).
        tools: Tool definitions passed to the template.
        template_kwargs: Extra template variables. ``enable_thinking`` is always given explicitly: mlx-lm's tokenizer
            wrapper sets it to true when the vocabulary has ``<think>``, where the template's own default is off.
    """

    id: str
    messages: list[dict[str, Any]]
    reply: str
    tools: list[dict[str, Any]] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=lambda: {"enable_thinking": False})

    def render(self, tokenizer: Any) -> str:
        """The prompt text through ``tokenizer.apply_chat_template`` (a transformers tokenizer)."""
        prompt = tokenizer.apply_chat_template(
            self.messages, tools=self.tools, add_generation_prompt=True, tokenize=False, **self.template_kwargs
        )
        assert isinstance(prompt, str)
        return prompt

    def expectation(self, prompt: str) -> dict[str, Any]:
        """The JSON record written to ``assistant.expect.json``."""
        return {
            "id": self.id,
            "messages": self.messages,
            "tools": self.tools,
            "template_kwargs": self.template_kwargs,
            "prompt": prompt,
            "reply": self.reply,
            "finish_reason": "stop",
        }


HELLO = {"role": "user", "content": "Hello! Who are you?"}
SUM = {"role": "user", "content": "What is 2 + 3?"}
WEATHER = {"role": "user", "content": "What is the weather in Paris?"}

CONVERSATIONS = (
    Conversation("plain", [HELLO], "Hello! I am the tiny demo assistant of Flama."),
    Conversation(
        "system",
        [{"role": "system", "content": "Answer in French."}, HELLO],
        "Bonjour ! Je suis le petit assistant de démonstration de Flama.",
    ),
    Conversation(
        "thinking",
        [SUM],
        "The user asks for 2 + 3. Two plus three is five.\n</think>\nThe answer is 5.",
        template_kwargs={"enable_thinking": True},
    ),
    Conversation("no_thinking", [SUM], "The answer is 5.", template_kwargs={"enable_thinking": False}),
    Conversation(
        "tool_call",
        [WEATHER],
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        tools=[WEATHER_TOOL],
    ),
    Conversation(
        "tool_result",
        [
            WEATHER,
            {"role": "assistant", "content": "", "tool_calls": [WEATHER_CALL]},
            {"role": "tool", "name": "get_weather", "content": {"city": "Paris", "sky": "sunny", "celsius": 21}},
        ],
        "It is sunny in Paris, and 21 degrees.",
        tools=[WEATHER_TOOL],
    ),
    Conversation(
        "story",
        [{"role": "user", "content": "Tell me a story."}],
        "Once upon a time, a small flame lived in a lantern by the sea. Every night it lit the way home for the "
        "fishing boats. One stormy night the wind blew hard, but the flame held on, and every boat came home.",
    ),
)

#: Text the tokenizer learns its merges from: the conversations themselves plus a little plain prose.
CORPUS = (
    "Flama is a Python framework for serving machine learning models and large language models over HTTP.",
    "The tiny demo assistant answers a handful of questions, thinks before it answers, and calls tools.",
    "Un petit assistant de démonstration répond en français quand on le lui demande.",
    "The weather in Paris is sunny today. The answer is five. Two plus three is five.",
    *(conversation.reply for conversation in CONVERSATIONS),
    *(str(message["content"]) for conversation in CONVERSATIONS for message in conversation.messages),
    json.dumps(WEATHER_TOOL),
)


@dataclass(frozen=True)
class Architecture:
    """The llama hyper-parameters of the demo model."""

    hidden_size: int = 64
    intermediate_size: int = 192
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 2048

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_attention_heads


def train_tokenizer() -> Tokenizer:
    """A byte-level BPE tokenizer trained on ``CORPUS``, with the role markers and the reasoning/tool markers."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(MARKER_TOKENS),
        special_tokens=[AddedToken(token, special=True, normalized=False) for token in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in MARKER_TOKENS])
    return tokenizer


def write_checkpoint(directory: Path, *, architecture: Architecture | None = None, seed: int = SEED) -> Path:
    """Write a complete checkpoint with random weights into ``directory`` (created when missing).

    Args:
        directory: Where ``config.json``, ``generation_config.json``, ``model.safetensors``, ``tokenizer.json`` and
            ``tokenizer_config.json`` go.
        architecture: Hyper-parameters; the demo's by default.
        seed: Seed of the weights' random generator.

    Returns:
        The directory.
    """
    arch = architecture or Architecture()
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    tokenizer.save(str(directory / "tokenizer.json"))
    vocab_size = tokenizer.get_vocab_size()
    pad_id, end_id = (tokenizer.token_to_id(token) for token in (PAD, END))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": arch.hidden_size,
        "intermediate_size": arch.intermediate_size,
        "num_hidden_layers": arch.num_hidden_layers,
        "num_attention_heads": arch.num_attention_heads,
        "num_key_value_heads": arch.num_key_value_heads,
        "head_dim": arch.head_dim,
        "max_position_embeddings": arch.max_position_embeddings,
        "vocab_size": vocab_size,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "bos_token_id": None,
        "eos_token_id": end_id,
        "pad_token_id": pad_id,
        "dtype": "float32",
    }
    _write_json(directory / "config.json", config)
    _write_json(directory / "generation_config.json", {"eos_token_id": [end_id], "pad_token_id": pad_id})
    _write_json(
        directory / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": None,
            "eos_token": END,
            "pad_token": PAD,
            "model_max_length": arch.max_position_embeddings,
            "clean_up_tokenization_spaces": False,
            "chat_template": CHAT_TEMPLATE,
        },
    )
    save_file(random_weights(arch, vocab_size, seed), str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


def random_weights(arch: Architecture, vocab_size: int, seed: int) -> dict[str, npt.NDArray[np.float32]]:
    """Llama weights under their Hugging Face names: normal(0, 0.02) matrices, unit norms, tied embeddings."""
    rng = np.random.default_rng(seed)

    def matrix(rows: int, columns: int) -> npt.NDArray[np.float32]:
        return rng.normal(0.0, 0.02, size=(rows, columns)).astype(np.float32)

    hidden, kv = arch.hidden_size, arch.num_key_value_heads * arch.head_dim
    weights = {"model.embed_tokens.weight": matrix(vocab_size, hidden)}
    for layer in range(arch.num_hidden_layers):
        prefix = f"model.layers.{layer}"
        weights |= {
            f"{prefix}.self_attn.q_proj.weight": matrix(hidden, hidden),
            f"{prefix}.self_attn.k_proj.weight": matrix(kv, hidden),
            f"{prefix}.self_attn.v_proj.weight": matrix(kv, hidden),
            f"{prefix}.self_attn.o_proj.weight": matrix(hidden, hidden),
            f"{prefix}.mlp.gate_proj.weight": matrix(arch.intermediate_size, hidden),
            f"{prefix}.mlp.up_proj.weight": matrix(arch.intermediate_size, hidden),
            f"{prefix}.mlp.down_proj.weight": matrix(hidden, arch.intermediate_size),
            f"{prefix}.input_layernorm.weight": np.ones(hidden, dtype=np.float32),
            f"{prefix}.post_attention_layernorm.weight": np.ones(hidden, dtype=np.float32),
        }
    weights["model.norm.weight"] = np.ones(hidden, dtype=np.float32)
    return weights


def train(
    directory: Path,
    conversations: Sequence[Conversation] = CONVERSATIONS,
    *,
    seed: int = SEED,
    margin: float = 4.0,
    max_steps: int = 3000,
) -> int:
    """Train the checkpoint in ``directory`` in place until greedy decoding gives every reply.

    Teacher-forced argmax is what greedy decoding follows, so training stops once every reply token (and the
    end-of-sequence token after it) beats every other token by ``margin`` logits: that margin keeps backends with
    other kernels (MLX) on the same path.

    Args:
        directory: A checkpoint written by ``write_checkpoint``.
        conversations: What to learn.
        seed: Seed of torch's generator.
        margin: Smallest logit lead of the right token, at every reply position, that ends training.
        max_steps: Optimizer steps after which the script gives up.

    Returns:
        The number of optimizer steps taken.

    Raises:
        RuntimeError: When ``max_steps`` did not reach ``margin``.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # deterministic reductions, and a fair share of a small shared machine
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32)
    rows = [
        (
            tokenizer(conversation.render(tokenizer), add_special_tokens=False).input_ids,
            [*tokenizer(conversation.reply, add_special_tokens=False).input_ids, tokenizer.eos_token_id],
        )
        for conversation in conversations
    ]
    width = max(len(prompt) + len(reply) for prompt, reply in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    labels = torch.full((len(rows), width), -100)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (prompt, reply) in enumerate(rows):
        tokens = torch.tensor(prompt + reply)
        input_ids[row, : len(tokens)] = tokens
        attention_mask[row, : len(tokens)] = 1
        labels[row, len(prompt) : len(tokens)] = tokens[len(prompt) :]
    targets = labels[:, 1:]
    scored = targets != -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    for step in range(max_steps + 1):
        output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        logits = output.logits.detach()[:, :-1]
        right = logits.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        rivals = logits.scatter(-1, targets.clamp(min=0).unsqueeze(-1), float("-inf")).amax(-1)
        lead = float((right - rivals)[scored].min())
        if lead >= margin:
            names = random_weights(Architecture(), 1, seed).keys()
            state = model.state_dict()
            weights = {name: state[name].detach().contiguous().numpy() for name in names}
            save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
            return step
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
    raise RuntimeError(f"training did not reach a margin of {margin} in {max_steps} steps (last: {lead:.2f})")


def generate_transformers(
    directory: Path, conversations: Sequence[Conversation] = CONVERSATIONS, *, max_tokens: int = 128
) -> dict[str, tuple[str, str]]:
    """Greedy replies through transformers: conversation id -> (text, finish reason)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    replies = {}
    for conversation in conversations:
        prompt = tokenizer(conversation.render(tokenizer), add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            output = model.generate(**prompt, max_new_tokens=max_tokens, do_sample=False)
        tokens = output[0, prompt.input_ids.shape[1] :].tolist()
        stopped = tokenizer.eos_token_id in tokens
        if stopped:
            tokens = tokens[: tokens.index(tokenizer.eos_token_id)]
        replies[conversation.id] = (tokenizer.decode(tokens), "stop" if stopped else "length")
    return replies


def generate_mlx(
    directory: Path, conversations: Sequence[Conversation] = CONVERSATIONS, *, max_tokens: int = 128
) -> dict[str, tuple[str, str]]:
    """Greedy replies through mlx-lm's ``stream_generate``: conversation id -> (text, finish reason)."""
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(str(directory))[:2]
    replies = {}
    for conversation in conversations:
        text, finish_reason = "", "length"
        for response in stream_generate(
            model, tokenizer, conversation.render(tokenizer), max_tokens=max_tokens, sampler=make_sampler(temp=0.0)
        ):
            text += response.text
            finish_reason = response.finish_reason or finish_reason
        replies[conversation.id] = (text, finish_reason)
    return replies


def verify(directory: Path, conversations: Sequence[Conversation] = CONVERSATIONS) -> None:
    """Check that transformers and mlx-lm both give every expected reply greedily.

    Raises:
        AssertionError: Naming each backend and conversation whose reply differs.
    """
    expected = {conversation.id: (conversation.reply, "stop") for conversation in conversations}
    failures = [
        f"{backend} / {key}: expected {expected[key]!r}, got {got!r}"
        for backend, replies in (
            ("transformers", generate_transformers(directory, conversations)),
            ("mlx-lm", generate_mlx(directory, conversations)),
        )
        for key, got in replies.items()
        if got != expected[key]
    ]
    if failures:
        raise AssertionError("greedy replies differ from the expected ones:\n" + "\n".join(failures))


def build(directory: Path, *, trained: bool = True) -> Path:
    """Write the demo checkpoint into ``directory``, trained (the default, seconds of CPU) or with random weights.

    Training is seeded and runs on one thread, so a trained build gives the replies of ``CONVERSATIONS``.
    """
    write_checkpoint(directory)
    if trained:
        train(directory)
    return directory


def write_expectations(directory: Path, path: Path, conversations: Sequence[Conversation] = CONVERSATIONS) -> None:
    """Write ``assistant.expect.json``: each conversation's inputs, its rendered prompt and its exact greedy reply."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    _write_json(
        path,
        {
            "model": FLM_NAME,
            "eos_token": END,
            "conversations": [
                conversation.expectation(conversation.render(tokenizer)) for conversation in conversations
            ],
        },
    )


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: build, train, verify and pack the demo model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=HERE, help="where assistant.flm and its expectations go")
    parser.add_argument("--directory", type=Path, help="keep the checkpoint directory here instead of a temporary one")
    parser.add_argument(
        "--random", action="store_true", help="only write a random-weights checkpoint into --directory (no training)"
    )
    args = parser.parse_args(argv)
    if args.random and args.directory is None:
        parser.error("--random writes a checkpoint directory only: give --directory")
    started = time.perf_counter()

    def report(message: str) -> None:
        print(f"{time.perf_counter() - started:5.1f} s  {message}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.directory or Path(scratch) / "assistant"
        if directory.exists():
            shutil.rmtree(directory)
        write_checkpoint(directory)
        report(f"checkpoint written to {directory}")
        if args.random:
            return 0
        report(f"trained in {train(directory)} steps")
        verify(directory)
        report("transformers and mlx-lm reproduce every reply")
        args.output.mkdir(parents=True, exist_ok=True)
        write_expectations(directory, args.output / EXPECT_NAME)
        meta = package(directory, args.output / FLM_NAME, extra={"source": "examples/models/build_demo_model.py"})
        size = (args.output / FLM_NAME).stat().st_size
        report(f"{args.output / FLM_NAME}: {size} bytes, capabilities {meta.capabilities}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
