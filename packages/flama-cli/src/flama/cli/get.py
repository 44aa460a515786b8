"""``flama get``: download a model (HuggingFace Hub, or a local folder) and pack it as a ``.flm`` file.

Downloads go through ``huggingface_hub`` (a well-kept client: resumable, concurrent downloads with progress bars,
``HF_ENDPOINT`` and the HF token honoured), into a folder beside the output that is kept when a download fails, so the
next run resumes it. Every file name is checked before anything is downloaded: one that would land outside the
target folder is refused.
"""

import pathlib
import shutil
from collections.abc import Sequence
from typing import Any

import click
from flama.cli.options import ENV_SETTINGS

__all__ = ["command", "pack", "safe_names"]


def safe_names(names: Sequence[str]) -> list[str]:
    """The file names of a repository, checked to stay inside the folder they are downloaded to.

    Raises:
        click.ClickException: A name is absolute or climbs out of the folder (``../x``).
    """
    for name in names:
        path = pathlib.PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or "\\" in name or not name:
            raise click.ClickException(f"refusing unsafe file name {name!r}: it would land outside the target folder")
    return list(names)


# Predictive model files packed as they are: suffix -> (library, framework config).
_ML_PAYLOADS: dict[str, tuple[str, dict[str, Any] | None]] = {
    ".skops": ("sklearn", {"format": "skops"}),
    ".keras": ("keras", None),
}
# Pickle-based files: loading one runs the code it holds, so it needs --trust.
_PICKLES = (".pkl", ".pickle", ".joblib")


def _load_pickle(file: pathlib.Path) -> Any:
    try:
        import joblib  # type: ignore[import-untyped,unused-ignore]  # no stubs
    except ImportError:  # plain pickles load without it
        import pickle

        with file.open("rb") as stream:
            return pickle.load(stream)
    return joblib.load(file)


def _pack_ml(directory: pathlib.Path, output: pathlib.Path, extra: dict[str, Any], trust: bool) -> None:
    from flama.models import dump

    files = [f for f in sorted(directory.rglob("*")) if f.is_file() and not f.name.startswith(".")]
    payloads = [f for f in files if f.suffix.lower() in _ML_PAYLOADS]
    pickles = [f for f in files if f.suffix.lower() in _PICKLES]
    candidates = payloads + pickles
    if len(candidates) > 1:
        names = ", ".join(str(f.relative_to(directory)) for f in candidates)
        raise click.ClickException(f"several model files ({names}): pick one with --include")
    if payloads:
        lib, config = _ML_PAYLOADS[payloads[0].suffix.lower()]
        dump(payloads[0], output, family="ml", lib=lib, config=config, extra=extra)
    elif pickles:
        if not trust:
            raise click.ClickException(
                f"{pickles[0].name} is a pickle: loading it runs any code it holds. Pass --trust if you trust "
                "its source, or use a .skops file"
            )
        dump(_load_pickle(pickles[0]), output, extra=extra)
    elif (directory / "config.json").is_file():
        dump(directory, output, family="ml", lib="transformers", extra=extra)
    else:
        raise click.ClickException(f"no model file in {directory} (.skops, .keras, a pickle or a transformers folder)")


def pack(directory: pathlib.Path, output: pathlib.Path, family: str, source: str, *, trust: bool = False) -> None:
    """Pack a folder into ``output``: an LLM checkpoint, or a predictive model.

    A predictive model is the folder's ``.skops`` or ``.keras`` file, its pickle (``.pkl``, ``.joblib``) when ``trust``
    is given, or the folder itself when it is a transformers checkpoint.

    Raises:
        click.ClickException: The folder cannot be packed.
    """
    extra = {"source": source}
    try:
        if family == "llm":
            from flama.llm.packaging import package

            package(directory, output, extra=extra)
        else:
            _pack_ml(directory, output, extra, trust)
    except (OSError, ValueError, TypeError) as exc:
        output.unlink(missing_ok=True)
        raise click.ClickException(f"cannot pack {directory}: {exc}") from None


def _download(
    repo: str, target: pathlib.Path, revision: str | None, token: str | None, include: Any, exclude: Any, workers: int
) -> str:
    import huggingface_hub
    from huggingface_hub import errors

    api = huggingface_hub.HfApi(token=token)
    try:
        info = api.model_info(repo, revision=revision)
        safe_names([sibling.rfilename for sibling in info.siblings or []])
        huggingface_hub.snapshot_download(
            repo,
            revision=info.sha,
            local_dir=target,
            token=token,
            allow_patterns=include,
            ignore_patterns=exclude,
            max_workers=workers,
        )
    except errors.GatedRepoError:
        raise click.ClickException(
            f"{repo} is gated: accept its terms on the Hub and pass --token (or HF_TOKEN)"
        ) from None
    except errors.RepositoryNotFoundError:
        raise click.ClickException(f"repository {repo} not found (or private: pass --token)") from None
    except errors.RevisionNotFoundError:
        raise click.ClickException(f"revision {revision} of {repo} not found") from None
    except errors.HfHubHTTPError as exc:
        raise click.ClickException(f"download of {repo} failed: {exc}") from None
    return str(info.sha)


@click.command(name="get", context_settings=ENV_SETTINGS)
@click.argument("model-name")
@click.option(
    "--source",
    type=click.Choice(["huggingface", "local"]),
    required=True,
    help="Where the model comes from: the HuggingFace Hub, or a local folder (MODEL_NAME is its path).",
)
@click.option(
    "--family",
    type=click.Choice(["ml", "llm"]),
    required=True,
    help="ml for predictive models, llm for language models (recorded in the file).",
)
@click.option("-o", "--output", default=None, help="The .flm file to write (default: MODEL_NAME with / as _).")
@click.option("--revision", default=None, help="Branch, tag or commit to download (default: main).")
@click.option("--token", default=None, envvar=["FLAMA_TOKEN", "HF_TOKEN"], help="HuggingFace token, for gated repos.")
@click.option("--include", multiple=True, metavar="GLOB", help="Download only files matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching (repeatable).")
@click.option(
    "--max-concurrent", type=click.IntRange(1), default=8, show_default=True, help="Files downloaded at once."
)
@click.option("--trust", is_flag=True, help="Allow packing a pickle (loading one runs the code it holds).")
def command(
    model_name: str,
    source: str,
    family: str,
    output: str | None,
    revision: str | None,
    token: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    max_concurrent: int,
    trust: bool,
) -> None:
    """Download a model and pack it as a .flm file.

    \b
    Examples:
      flama get --source huggingface --family llm ORG/MODEL
      flama get --source huggingface --family ml scikit-learn/Fish-Weight
      flama get --source local --family llm ./checkpoint -o assistant.flm

    HF_ENDPOINT points the download at another Hub. An interrupted download resumes where it
    stopped when the command is run again.
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    stem = pathlib.Path(model_name).name if source == "local" else model_name.replace("/", "_")
    destination = pathlib.Path(output or f"{stem}.flm")
    if source == "local":
        directory = pathlib.Path(model_name)
        if not directory.is_dir():
            raise click.ClickException(f"{model_name} is not a folder")
        pack(directory, destination, family, str(directory.resolve()), trust=trust)
    else:
        # Kept when the download fails, so the next run resumes it; removed once the file is packed.
        parts = destination.with_name(destination.name + ".download")
        sha = _download(model_name, parts, revision, token, include or None, exclude or None, max_concurrent)
        # huggingface_hub's bookkeeping (what is downloaded, resume points) is set aside while packing, and put back
        # when packing fails, so that a second run finds the download complete.
        cache, aside = parts / ".cache", parts.with_name(parts.name + ".cache")
        if cache.exists():
            cache.rename(aside)
        try:
            pack(parts, destination, family, f"huggingface:{model_name}@{sha}", trust=trust)
        except click.ClickException:
            if aside.exists():
                aside.rename(cache)
            raise
        shutil.rmtree(parts, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
    click.echo(f"Wrote {destination}", err=True)
