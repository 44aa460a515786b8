"""Directory bundles: a directory streamed into a tar archive, and a tar archive extracted safely.

The archive is GNU tar, as Flama 2.x writes it. Entries whose name starts with a dot are left out (as Flama 2.x does:
caches and VCS folders have no place in a model file) and symbolic links in the source are followed, so a model hub
cache whose files link to blobs bundles the blobs' content. Extraction accepts only regular files and directories
with relative names that stay inside the destination.
"""

import os
import pathlib
import tarfile
from typing import IO, Protocol

from flama.models.exceptions import CorruptedFile, UnsafeArtifactPath

__all__ = ["Readable", "Writable", "extract_bundle", "safe_member_path", "write_bundle"]

_CHUNK = 1 << 20


class Writable(Protocol):
    """Anything with ``write(bytes)``."""

    def write(self, data: bytes, /) -> int: ...  # noqa: D102


class Readable(Protocol):
    """Anything with ``read(size)``."""

    def read(self, size: int = -1, /) -> bytes: ...  # noqa: D102


def _files(directory: pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    """Every directory and file under ``directory`` in a stable order, with its archive name."""
    found: list[tuple[pathlib.Path, str]] = []
    visited: set[str] = set()

    def walk(folder: pathlib.Path, prefix: str) -> None:
        real = os.path.realpath(folder)
        if real in visited:  # a symlink loop: each real folder is bundled once
            return
        visited.add(real)
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.startswith("."):
                continue
            name = f"{prefix}{entry.name}"
            found.append((entry, name))
            if entry.is_dir():
                walk(entry, f"{name}/")

    walk(directory, "")
    return found


def write_bundle(directory: pathlib.Path, sink: Writable) -> None:
    """Stream ``directory`` as a tar archive into ``sink``, one file chunk at a time.

    Raises:
        NotADirectoryError: When ``directory`` is not a directory.
    """
    if not directory.is_dir():
        raise NotADirectoryError(f"Cannot bundle {str(directory)!r}: not a directory")
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT, bufsize=_CHUNK) as archive:  # type: ignore[call-overload]
        for path, name in _files(directory):
            info = archive.gettarinfo(str(path.resolve()), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isdir():
                archive.addfile(info)
            else:
                with path.open("rb") as content:
                    archive.addfile(info, content)


def safe_member_path(name: str, destination: pathlib.Path) -> pathlib.Path | None:
    """The path a bundle entry extracts to, or None for the bundle root itself.

    Raises:
        UnsafeArtifactPath: When the name is absolute, has a drive, climbs with ``..`` or holds a NUL byte.
    """
    if "\x00" in name:
        raise UnsafeArtifactPath(name, "contains a NUL byte")
    if name.startswith(("/", "\\")) or pathlib.PureWindowsPath(name).drive:
        raise UnsafeArtifactPath(name, "absolute paths are refused")
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArtifactPath(name, "'..' components are refused")
    if not parts:
        return None
    return destination.joinpath(*parts)


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic links are refused"
    if member.islnk():
        return "hard links are refused"
    if member.isdev():
        return "device and FIFO entries are refused"
    return f"entry type {member.type!r} is refused"


def extract_bundle(source: Readable, destination: pathlib.Path) -> None:
    """Extract a tar stream from ``source`` into the existing directory ``destination``, one chunk at a time.

    Raises:
        UnsafeArtifactPath: For an entry that is not a regular file or directory, or whose name escapes.
        CorruptedFile: When the stream is not a tar archive.
    """
    try:
        with tarfile.open(fileobj=source, mode="r|", bufsize=_CHUNK) as archive:  # type: ignore[call-overload]
            for member in archive:
                _extract_member(archive, member, destination)
    except tarfile.TarError as exc:
        raise CorruptedFile("model bundle", f"invalid tar archive ({exc})") from exc


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, destination: pathlib.Path) -> None:
    target = safe_member_path(member.name, destination)
    if member.isdir():
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
        return
    if not member.isfile():
        raise UnsafeArtifactPath(member.name, _kind(member))
    if target is None:
        raise UnsafeArtifactPath(member.name, "a file cannot replace the bundle root")
    target.parent.mkdir(parents=True, exist_ok=True)
    content: IO[bytes] | None = archive.extractfile(member)
    if content is None:  # pragma: no cover - isfile() members always have content
        raise CorruptedFile("model bundle", f"entry {member.name!r} has no content")
    with target.open("wb") as out:
        while chunk := content.read(_CHUNK):
            out.write(chunk)
