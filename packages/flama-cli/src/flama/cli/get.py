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


def pack(directory: pathlib.Path, output: pathlib.Path, family: str, source: str) -> None:
    """Pack a checkpoint folder into ``output``: an LLM checkpoint, or a predictive model's folder.

    Raises:
        click.ClickException: The folder cannot be packed.
    """
    extra = {"source": source}
    try:
        if family == "llm":
            from flama.llm.packaging import package

            package(directory, output, extra=extra)
        else:
            from flama.models import dump

            dump(directory, output, family="ml", lib="transformers", extra=extra)
    except (OSError, ValueError) as exc:
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
        pack(directory, destination, family, str(directory.resolve()))
    else:
        # Kept when the download fails, so the next run resumes it; removed once the file is packed.
        parts = destination.with_name(destination.name + ".download")
        sha = _download(model_name, parts, revision, token, include or None, exclude or None, max_concurrent)
        shutil.rmtree(parts / ".cache", ignore_errors=True)
        pack(parts, destination, family, f"huggingface:{model_name}@{sha}")
        shutil.rmtree(parts, ignore_errors=True)
    click.echo(f"Wrote {destination}", err=True)
