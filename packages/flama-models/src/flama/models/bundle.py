"""Directory bundles: a directory streamed into a tar archive, and a tar archive extracted safely.

The archive is GNU tar, as Flama 2.x writes it. Entries whose name starts with a dot are left out (as Flama 2.x does:
caches and VCS folders have no place in a model file) and symbolic links in the source are followed, so a model hub
cache whose files link to blobs bundles the blobs' content. Extraction accepts only regular files and directories
with relative names that stay inside the destination, at most `Limits.max_bundle_entries` of them, each created
once (a name that clashes with an earlier entry is refused rather than overwriting or failing half-way).
"""

import errno
import os
import pathlib
import stat
import tarfile
from collections.abc import Iterator
from typing import IO, Final, Protocol

from flama.models.container import check_component
from flama.models.exceptions import CorruptedFile, LimitExceeded, UnsafeArtifactPath
from flama.models.limits import DEFAULT_LIMITS

__all__ = ["Readable", "Writable", "extract_bundle", "safe_member_path", "write_bundle"]

_CHUNK: Final = 1 << 20
_ENCODING: Final = "utf-8"
_EMPTY_BLOCK: Final = tarfile.NUL * tarfile.BLOCKSIZE
_FILE_TYPES: Final = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_MAX_NAME_ENTRY: Final = 1 << 20  # long-name and pax entries hold a few hundred bytes; more means corruption


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


def _header(path: pathlib.Path, name: str) -> tarfile.TarInfo:
    """The tar entry of a file or folder, with the content's real metadata (links followed) and no owner."""
    status = path.stat()
    info = tarfile.TarInfo(name)
    info.mode = status.st_mode & 0o7777
    info.mtime = int(status.st_mtime)
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
    else:
        info.type = tarfile.REGTYPE
        info.size = status.st_size
    return info


def write_bundle(directory: pathlib.Path, sink: Writable) -> None:
    """Stream ``directory`` as a tar archive into ``sink``, one file chunk at a time.

    The archive is the one ``tarfile`` writes in GNU format (headers built by `tarfile.TarInfo`), but the content goes
    straight from each file to ``sink`` in 1 MiB chunks: ``tarfile``'s own stream re-buffers every 16 KiB piece.

    Raises:
        NotADirectoryError: When ``directory`` is not a directory.
        OSError: When a file changes size while it is bundled.
    """
    if not directory.is_dir():
        raise NotADirectoryError(f"Cannot bundle {str(directory)!r}: not a directory")
    written = 0
    for path, name in _files(directory):
        info = _header(path, name)
        header = info.tobuf(tarfile.GNU_FORMAT, _ENCODING, "surrogateescape")
        sink.write(header)
        written += len(header)
        if info.isdir():
            continue
        with path.open("rb") as content:
            left = info.size
            while left:
                chunk = content.read(min(left, _CHUNK))
                if not chunk:
                    raise OSError(f"{str(path)!r} shrank while it was bundled")
                sink.write(chunk)
                left -= len(chunk)
        padding = -info.size % tarfile.BLOCKSIZE
        sink.write(tarfile.NUL * padding)
        written += info.size + padding
    # The end-of-archive marker, then zeros up to a whole record, as tar readers expect.
    end = 2 * tarfile.BLOCKSIZE
    end += -(written + end) % tarfile.RECORDSIZE
    sink.write(tarfile.NUL * end)


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
    for part in parts:
        check_component(part)
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


class _Entries:
    """Reads tar entries from a stream: headers parsed by `tarfile.TarInfo`, content copied chunk by chunk."""

    __slots__ = ("_max_entries", "_source")

    def __init__(self, source: Readable, max_entries: int) -> None:
        self._source = source
        self._max_entries = max_entries

    def read_exact(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            chunk = self._source.read(size)
            if not chunk:
                raise CorruptedFile("model bundle", "invalid tar archive (unexpected end of data)")
            parts.append(chunk)
            size -= len(chunk)
        return b"".join(parts)

    def data(self, size: int) -> bytes:
        """An entry's content with its padding (for the small entries that carry long names)."""
        if size > _MAX_NAME_ENTRY:
            raise CorruptedFile("model bundle", f"invalid tar archive (name entry of {size} bytes)")
        return self.read_exact(size + -size % tarfile.BLOCKSIZE)[:size]

    def copy(self, size: int, out: IO[bytes] | None) -> None:
        """Copy ``size`` content bytes (and the padding after them) to ``out``, or skip them when it is None."""
        left = size
        while left:
            chunk = self._source.read(min(left, _CHUNK))
            if not chunk:
                raise CorruptedFile("model bundle", "invalid tar archive (unexpected end of data)")
            if out is not None:
                out.write(chunk)
            left -= len(chunk)
        self.read_exact(-size % tarfile.BLOCKSIZE)

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        overrides: dict[str, str] = {}
        first = True
        count = 0
        while True:
            block = self._source.read(tarfile.BLOCKSIZE)
            if not block:
                if first:
                    raise CorruptedFile("model bundle", "invalid tar archive (empty file)")
                return  # a stream that ends on an entry boundary without the end marker: accepted, as tar does
            block += self.read_exact(tarfile.BLOCKSIZE - len(block)) if len(block) < tarfile.BLOCKSIZE else b""
            if block == _EMPTY_BLOCK:
                return
            first = False
            count += 1  # every header counts, long-name and pax ones too: each costs a read and a parse
            if count > self._max_entries:
                raise LimitExceeded("max_bundle_entries", self._max_entries, "model bundle", "too many tar entries")
            try:
                member = tarfile.TarInfo.frombuf(block, _ENCODING, "surrogateescape")
            except tarfile.HeaderError as exc:
                raise CorruptedFile("model bundle", f"invalid tar archive ({exc})") from exc
            if member.type == tarfile.GNUTYPE_LONGNAME:
                overrides["path"] = _text(self.data(member.size))
            elif member.type == tarfile.XHDTYPE:
                overrides.update(_pax(self.data(member.size)))
            elif member.type in (tarfile.XGLTYPE, tarfile.GNUTYPE_LONGLINK):
                self.data(member.size)  # global defaults and link targets: nothing a file or folder needs
            else:
                member.name = overrides.pop("path", member.name)
                if "size" in overrides:
                    member.size = _pax_size(overrides.pop("size"))
                overrides.clear()
                yield member


def _pax_size(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise CorruptedFile("model bundle", f"invalid tar archive (pax size {value[:40]!r} is not a byte count)")
    return int(value)


def _text(data: bytes) -> str:
    return data.rstrip(tarfile.NUL).decode(_ENCODING, "surrogateescape")


def _pax(data: bytes) -> dict[str, str]:
    """The ``path`` and ``size`` records of a pax extended header (each "<length> <key>=<value>" and a newline)."""
    found: dict[str, str] = {}
    position = 0
    while position < len(data):
        length, _, rest = data[position:].partition(b" ")
        if not length.isdigit() or int(length) <= len(length):
            raise CorruptedFile("model bundle", "invalid tar archive (malformed pax header)")
        key, _, value = rest[: int(length) - len(length) - 2].partition(b"=")
        if key in (b"path", b"size"):
            found[key.decode()] = value.decode(_ENCODING, "surrogateescape")
        position += int(length)
    return found


def extract_bundle(source: Readable, destination: pathlib.Path, *, max_entries: int | None = None) -> None:
    """Extract a tar stream from ``source`` into the existing directory ``destination``, one chunk at a time.

    Args:
        source: The tar stream.
        destination: An existing, empty directory.
        max_entries: Most entries read (`Limits.max_bundle_entries` by default).

    Raises:
        UnsafeArtifactPath: For an entry that is not a regular file or directory, whose name escapes or is too long,
            or that clashes with an earlier entry (a file where a folder is, a folder where a file is, a file twice).
        LimitExceeded: For more than ``max_entries`` entries.
        CorruptedFile: When the stream is not a tar archive.
    """
    entries = _Entries(source, DEFAULT_LIMITS.max_bundle_entries if max_entries is None else max_entries)
    for member in entries:
        target = safe_member_path(member.name, destination)
        try:
            if member.isdir():
                if target is not None:
                    target.mkdir(parents=True, exist_ok=True)
                entries.copy(member.size, None)
                continue
            if member.type not in _FILE_TYPES:
                raise UnsafeArtifactPath(member.name, _kind(member))
            if target is None:
                raise UnsafeArtifactPath(member.name, "a file cannot replace the bundle root")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as out:
                entries.copy(member.size, out)
        except OSError as exc:
            if exc.errno not in _CLASHES:
                raise
            raise UnsafeArtifactPath(member.name, f"clashes with an earlier entry ({exc.strerror})") from None


# What creating an entry raises when an earlier one took its name or its folder's name (or the name is too long).
_CLASHES: Final = frozenset({errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG})
