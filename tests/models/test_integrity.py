"""Checksums (issue 9, item 11) and typed errors for malformed files (item 10)."""

import io
import pathlib
import tarfile
from typing import Any

import pytest
from flama.models import (
    CorruptedFile,
    UnsafeArtifactPath,
    UnverifiedFile,
    UnverifiedFileWarning,
    dump,
    load,
    read_meta,
)

from tests.models import crafted


@pytest.fixture
def ours(sklearn_factory, tmp_path: pathlib.Path) -> bytes:
    (tmp_path / "a.txt").write_bytes(b"artifact")
    dump(sklearn_factory()[0], tmp_path / "m.flm", artifacts={"a.txt": tmp_path / "a.txt"})
    return (tmp_path / "m.flm").read_bytes()


def _without(*names: str) -> Any:
    def change(document: dict[str, Any]) -> None:
        for name in names:
            del document["checksums"][name]
        if not document["checksums"]:
            del document["checksums"]

    return change


class TestCaseChecksums:
    def test_stripped(self, ours):
        data = crafted.rewrite_meta(ours, _without("model", "a.txt"))
        with pytest.raises(UnverifiedFile, match=r"no recorded checksum .* written by flama-models.*verify=False"):
            load(io.BytesIO(data))

    def test_stripped_even_without_other_marks(self, ours):
        # Sizes and the time zone gone too: the metadata section's explicit codec byte still tells.
        def change(document: dict[str, Any]) -> None:
            _without("model", "a.txt")(document)
            del document["sizes"]
            document["timestamp"] = "2026-01-02T03:04:05"

        with pytest.raises(UnverifiedFile):
            load(io.BytesIO(crafted.rewrite_meta(ours, change)))

    @pytest.mark.parametrize("name", ["model", "a.txt"])
    def test_partial(self, ours, name):
        data = crafted.rewrite_meta(ours, _without(name))
        with pytest.raises(UnverifiedFile, match=rf"no recorded checksum for '{name}'"):
            load(io.BytesIO(data))

    def test_opt_out(self, ours):
        data = crafted.rewrite_meta(ours, _without("model", "a.txt"))
        with load(io.BytesIO(data), verify=False) as artifact:
            assert artifact.artifacts["a.txt"].read_bytes() == b"artifact"
            assert not artifact.trusted  # unverified bytes are never trusted for having been written here

    def test_recorded_artifact_missing(self, ours):
        def change(document: dict[str, Any]) -> None:
            document["checksums"]["ghost.txt"] = "0" * 64

        with pytest.raises(CorruptedFile, match=r"recorded artifacts are missing: ghost\.txt"):
            load(io.BytesIO(crafted.rewrite_meta(ours, change)))

    def test_flama2_without_checksums_warns(self):
        data = crafted.container(crafted.FLAMA2_META, model=crafted.compress([b"payload"]))
        with pytest.warns(UnverifiedFileWarning, match="carries no checksums"):
            artifact = load(io.BytesIO(data))
        with artifact:
            assert artifact.payload.read_bytes() == b"payload"


def _bundle(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, content in members:
            archive.addfile(info, io.BytesIO(content))
    return crafted.container(crafted.FLAMA2_META, model=crafted.compress([buffer.getvalue()]), kind=1)


def _entry(name: str, content: bytes = b"", kind: bytes = tarfile.REGTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(content) if kind == tarfile.REGTYPE else 0
    return info, content


class TestCaseTypedErrors:
    """Item 10: what used to escape as RecursionError, ValueError, FileExistsError, OSError or AttributeError."""

    def test_deep_metadata(self):
        data = crafted.container(b"[" * 200_000, model=b"")
        with pytest.raises(CorruptedFile, match="nested too deeply"):
            read_meta(io.BytesIO(data))

    def test_pax_size(self):
        info, content = _entry("w.bin", b"abc")
        info.pax_headers = {"size": "abc"}
        with pytest.raises(CorruptedFile, match=r"pax size 'abc' is not a byte count"):
            load(io.BytesIO(_bundle((info, content))))

    @pytest.mark.parametrize(
        "members",
        [
            pytest.param([_entry("a", b"x"), _entry("a", kind=tarfile.DIRTYPE)], id="file-then-folder"),
            pytest.param([_entry("a", kind=tarfile.DIRTYPE), _entry("a", b"x")], id="folder-then-file"),
            pytest.param([_entry("a", b"x"), _entry("a/b", b"y")], id="file-as-parent"),
            pytest.param([_entry("a", b"x"), _entry("a", b"y")], id="twice"),
        ],
    )
    def test_name_clashes(self, members):
        with pytest.raises(UnsafeArtifactPath, match="clashes with an earlier entry"):
            load(io.BytesIO(_bundle(*members)))

    def test_long_bundle_name(self):
        with pytest.raises(UnsafeArtifactPath, match="at most 255 bytes"):
            load(io.BytesIO(_bundle(_entry("d/" + "n" * 300, b"x"))))

    def test_long_path(self):
        deep = "/".join(["d" * 200] * 30) + "/f"  # every part fits, the whole path does not (PATH_MAX)
        with pytest.raises(UnsafeArtifactPath, match=r"clashes with an earlier entry|name too long"):
            load(io.BytesIO(_bundle(_entry(deep, b"x"))))

    def test_long_artifact_name(self):
        data = crafted.container(
            crafted.FLAMA2_META, model=crafted.compress([b""]), artifacts=[("n" * 300, crafted.compress([b""]))]
        )
        with pytest.raises(UnsafeArtifactPath, match="at most 255 bytes"):
            load(io.BytesIO(data))

    def test_duplicate_artifact(self):
        entry = ("a.txt", crafted.compress([b"x"]))
        data = crafted.container(crafted.FLAMA2_META, model=crafted.compress([b""]), artifacts=[entry, entry])
        with pytest.raises(CorruptedFile, match=r"two artifacts are named 'a\.txt'"):
            load(io.BytesIO(data))

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            pytest.param(("framework", "config"), [1, 2], id="config-list"),
            pytest.param(("model", "info"), "text", id="info-string"),
            pytest.param(("extra",), 3, id="extra-number"),
            pytest.param(("framework",), [], id="framework-list"),
            pytest.param(("sizes",), {"model": "big"}, id="sizes-text"),
        ],
    )
    def test_metadata_types(self, key, value):
        document = {**crafted.FLAMA2_META, "framework": dict(crafted.FLAMA2_META["framework"])}
        document["model"] = dict(document["model"])
        target = document
        for part in key[:-1]:
            target = target[part]
        target[key[-1]] = value
        with pytest.raises(CorruptedFile, match=r"Corrupted \.flm file: metadata: invalid document"):
            read_meta(io.BytesIO(crafted.container(document, model=b"")))

    def test_not_an_object(self):
        with pytest.raises(CorruptedFile, match="not a JSON object"):
            read_meta(io.BytesIO(crafted.container(b"[]", model=b"")))
