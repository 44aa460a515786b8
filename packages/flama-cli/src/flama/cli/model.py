"""``flama model FILE inspect|run|stream``: use a ``.flm`` model from the command line, without a server.

The model is loaded by the same resource class that serves it (``app.models``), so the command line and the API
answer alike. A language model reads a prompt (``--prompt-kind raw``), a message (``chat``, the default, with
``--system``) or a JSON list of messages (``conversation``); a predictive model reads a JSON list of input rows and
prints JSON.
"""

import contextlib
import dataclasses
import functools
import json
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

import anyio
import click
from flama.cli.options import ENV_SETTINGS
from flama.cli.specs import SpecError, parse_params

__all__ = ["command"]

_CHANNELS = {"output": ("text",), "thought": ("thinking",), "all": ("text", "thinking", "tool_call")}
# Flama 2.x's spellings.
_CHANNEL_ALIASES = {"thinking": "thought", "*": "all"}


class Model:
    """A ``.flm`` file and the options its resource is built with."""

    def __init__(self, file: pathlib.Path, options: dict[str, Any]) -> None:
        """Read the file's header.

        Raises:
            click.ClickException: The file cannot be read or its family is not served by an installed distribution.
        """
        from flama.models import ModelFileError, read_meta
        from flama.models.module import resource_class

        self.file = file
        try:
            self.family = read_meta(file).family
            self.cls = resource_class(self.family)
        except (ModelFileError, ValueError, OSError) as exc:
            raise click.ClickException(f"{file}: {exc}") from None
        self.options = options if self.family == "llm" else {}

    def trust(self, trusted: bool) -> None:
        """Let a predictive model's payload run code as it loads (a pickle); language models are never code."""
        if self.family != "llm":
            self.options["trusted"] = trusted

    def resource(self) -> Any:
        """The resource serving the model (not loaded yet)."""
        return self.cls(path="/", name=self.file.stem, source=self.file, **self.options)

    @contextlib.asynccontextmanager
    async def loaded(self) -> AsyncIterator[Any]:
        """The resource, loaded, and unloaded on the way out (also when interrupted)."""
        resource = self.resource()
        try:
            await resource.load()
            yield resource
        finally:
            with anyio.CancelScope(shield=True):
                await resource.unload()


def _prompt_of(text: str, kind: str, system: str | None) -> Any:
    from flama.llm.prompts import Chat, Conversation, Raw, parse_prompt

    if kind == "raw":
        if system is not None:
            raise click.UsageError("--system goes with --prompt-kind chat: a raw prompt is sent verbatim")
        return Raw(text)
    if kind == "chat":
        return Chat(text.rstrip("\n"), system)
    if system is not None:
        raise click.UsageError("--system goes with --prompt-kind chat: put it first in the conversation")
    try:
        messages = json.loads(text)
    except ValueError as exc:
        raise click.ClickException(f"--prompt-kind conversation reads a JSON list of messages: {exc}") from None
    parsed = parse_prompt({"messages": messages})
    assert isinstance(parsed, Conversation)
    return parsed


def _plain(value: Any) -> Any:
    """JSON for what models return beyond JSON's types: arrays and scalars of numpy, torch... (``tolist``)."""
    to_list = getattr(value, "tolist", None)
    return to_list() if callable(to_list) else str(value)


def _rows(text: str) -> Any:
    try:
        rows = json.loads(text)
    except ValueError as exc:
        raise click.ClickException(f"a predictive model reads a JSON list of input rows: {exc}") from None
    if not isinstance(rows, list):
        raise click.ClickException("a predictive model reads a JSON list of input rows")
    return rows


async def _generate(resource: Any, source: Any, params: dict[str, Any]) -> AsyncIterator[Any]:
    pipeline = resource.pipeline
    prepared = pipeline.prepare(source, params, {})
    events = pipeline.run(prepared)
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()


def _run_async(function: Callable[[], Any]) -> None:
    """Run ``function`` in an event loop; bad input and model errors become clean CLI errors."""
    from flama.llm.exceptions import LLMError

    try:
        anyio.run(function)
    except (ValueError, LLMError) as exc:  # invalid parameters, requests or input rows
        raise click.ClickException(str(exc)) from None


def _auto_only(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    """Flama 2.x's decoder options: ``auto`` is what Flama does anyway; a named decoder is ``--decoder`` here."""
    for item in value:
        if item != "auto":
            raise click.BadParameter(f"{item!r}: pick the model's decoder with --decoder NAME", ctx, param)


@click.group(name="model", context_settings=ENV_SETTINGS)
@click.argument("flama-model-path", envvar="FLAMA_MODEL_PATH", type=click.Path(exists=True, dir_okay=False))
@click.option("--backend", default=None, help="LLM backend: mlx, transformers or vllm (chosen when loading).")
@click.option("--decoder", default=None, help="LLM decoder spec, instead of the one detected.")
@click.option("--channel-scanner", "flama2_decoder", multiple=True, hidden=True, callback=_auto_only)
@click.option("--tool-scanner", "flama2_decoder", multiple=True, hidden=True, callback=_auto_only)
@click.option("--tool-parser", "flama2_decoder", multiple=True, hidden=True, callback=_auto_only)
@click.pass_context
def command(
    ctx: click.Context, flama_model_path: str, backend: str | None, decoder: str | None, flama2_decoder: Any
) -> None:
    """Inspect a model file, or run it once.

    \b
    Examples:
      flama model assistant.flm inspect --pretty
      echo "Hello! Who are you?" | flama model assistant.flm run
      echo "Hello!" | flama model assistant.flm stream --system "Be concise."
      echo '[[1.0, 2.0]]' | flama model fish.flm run
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    options = {key: value for key, value in (("backend", backend), ("decoder", decoder)) if value is not None}
    ctx.obj = Model(pathlib.Path(flama_model_path), options)


@command.command(name="inspect", context_settings=ENV_SETTINGS)
@click.option("-p", "--pretty", is_flag=True, help="Indent the JSON.")
@click.pass_obj
def inspect(model: Model, pretty: bool) -> None:
    """Print what the file holds: metadata, artifacts, capabilities (JSON).

    The model is not loaded: only the file's header is read.
    """
    click.echo(json.dumps(model.resource().inspect(), indent=2 if pretty else None, default=str, ensure_ascii=False))


@dataclasses.dataclass(frozen=True)
class Call:
    """What ``run`` and ``stream`` were asked: the input and how to read it, what to print and where."""

    text: str
    prompt_kind: str
    system: str | None
    params: dict[str, Any]
    channel: str
    trust: bool
    output: IO[str]

    def generation(self) -> Any:
        """What a language model generates from, read from the input."""
        return _prompt_of(self.text, self.prompt_kind, self.system)


def _call_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the input and output options; the command receives them as ``call``, a :class:`Call`."""

    @functools.wraps(function)
    def wrapper(
        *,
        input_file: IO[str],
        prompt_kind: str,
        system: str | None,
        params: tuple[str, ...],
        channel: str,
        trust: bool,
        output_file: IO[str],
        **kwargs: Any,
    ) -> Any:
        try:
            parsed = parse_params(params)
        except SpecError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
        call = Call(input_file.read(), prompt_kind, system, parsed, channel, trust, output_file)
        return function(call=call, **kwargs)

    options = (
        click.option(
            "-i",
            "--input",
            "input_file",
            type=click.File("r"),
            default="-",
            help="Read the input from this file (default: stdin).",
        ),
        click.option(
            "--prompt-kind",
            type=click.Choice(["raw", "chat", "conversation"]),
            default="chat",
            show_default=True,
            help="LLM input: a verbatim prompt, one message, or a JSON list of messages.",
        ),
        click.option("--system", default=None, help="LLM system message (chat prompts)."),
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="KEY=VALUE",
            help="LLM generation parameter, JSON when it parses (repeatable): --param max_tokens=64.",
        ),
        click.option(
            "--channel",
            type=click.Choice([*_CHANNELS, *_CHANNEL_ALIASES]),
            default="output",
            show_default=True,
            callback=lambda ctx, param, value: _CHANNEL_ALIASES.get(value, value),
            help="LLM blocks to print: the answer, the reasoning, or all (with tool calls).",
        ),
        click.option(
            "--trust",
            is_flag=True,
            help="Let the model file run code as it loads (a pickle): only for files you trust.",
        ),
        click.option(
            "-o",
            "--output",
            "output_file",
            type=click.File("w"),
            default="-",
            help="Write to this file (default: stdout).",
        ),
    )
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


@command.command(name="run", context_settings=ENV_SETTINGS)
@_call_options
@click.option("-p", "--pretty", is_flag=True, help="Indent JSON output.")
@click.pass_obj
def run(model: Model, call: Call, pretty: bool) -> None:
    """Run the model once and print the whole answer.

    A language model prints its answer as text (--channel output or thought), or its blocks as
    JSON (--channel all). A predictive model reads a JSON list of rows and prints the JSON list
    of predictions.

    \b
    Examples:
      echo "Hello! Who are you?" | flama model assistant.flm run
      flama model assistant.flm run -i chat.json --prompt-kind conversation
      echo '[[1.0, 2.0]]' | flama model fish.flm run
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    model.trust(call.trust)
    indent = 2 if pretty else None

    async def main() -> None:
        from flama.llm.generation import collect

        if model.family != "llm":
            rows = _rows(call.text)
            async with model.loaded() as loaded:
                result = await loaded.predict(rows)
            call.output.write(json.dumps(result["output"], indent=indent, default=_plain) + "\n")
            return
        source = call.generation()
        async with model.loaded() as loaded:
            completion = await collect(_generate(loaded, source, call.params))
        blocks = [block for block in completion.blocks if block.type in _CHANNELS[call.channel]]
        if call.channel == "all":
            call.output.write(json.dumps([block.to_dict() for block in blocks], indent=indent) + "\n")
        else:
            call.output.write("".join(block.text for block in blocks) + "\n")

    _run_async(main)


@command.command(name="stream", context_settings=ENV_SETTINGS)
@_call_options
@click.option("-b", "--buffer", "buffered", is_flag=True, help="Print the answer at once, when it is complete.")
@click.pass_obj
def stream(model: Model, call: Call, buffered: bool) -> None:
    """Run the model and print its answer as it is generated.

    With --channel all the reasoning is shown dimmed (on a terminal) and tool calls as
    [tool NAME] ARGUMENTS. Ctrl-C stops the generation. A predictive model prints one JSON line
    per input row, as each is predicted.

    \b
    Examples:
      echo "What is Flama?" | flama model m.flm stream --system "Be brief."
      echo "Think first." | flama model assistant.flm stream --channel all
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    model.trust(call.trust)
    kinds = _CHANNELS[call.channel]

    held: list[str] = []

    def write(text: str, **style: Any) -> None:
        text = click.style(text, **style) if style else text
        if buffered:
            held.append(text)
            return
        click.echo(text, file=call.output, nl=False)
        call.output.flush()

    async def main() -> None:
        from flama.llm.events import BlockDelta, BlockStart, BlockStop

        if model.family != "llm":
            rows = _rows(call.text)
            async with model.loaded() as loaded:
                for row in rows:
                    result = await loaded.predict([row])
                    write(json.dumps(result["output"][0], default=_plain) + "\n")
            return
        source = call.generation()
        open_blocks: dict[int, str] = {}
        async with model.loaded() as loaded:
            async for event in _generate(loaded, source, call.params):
                if isinstance(event, BlockStart):
                    if event.kind in kinds:
                        open_blocks[event.index] = event.kind
                        if event.kind == "tool_call":
                            write(f"[tool {event.tool_name}] ", bold=True)
                elif isinstance(event, BlockDelta) and event.index in open_blocks:
                    kind = open_blocks[event.index]
                    write(event.text, **({"dim": True} if kind == "thinking" and call.channel == "all" else {}))
                elif isinstance(event, BlockStop) and open_blocks.pop(event.index, None) in ("thinking", "tool_call"):
                    write("\n")
        write("\n")

    try:
        _run_async(main)
    except KeyboardInterrupt:
        write("\n")
        click.echo("Stopped.", err=True)
        raise click.exceptions.Exit(130) from None
    finally:
        if held:
            click.echo("".join(held), file=call.output, nl=False)
