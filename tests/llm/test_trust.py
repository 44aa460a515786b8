"""A language model's checkpoint that holds pickled weights or Python modules loads only when trusted (issue 9)."""

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest
from flama.llm.resource import LLMResource
from flama.models import UntrustedModel

from tests.llm.doubles import scripted


@pytest.fixture
def pickled_checkpoint(demo_model_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "checkpoint"
    shutil.copytree(demo_model_dir, directory)
    (directory / "pytorch_model.bin").write_bytes(b"a pickle would run code here")
    return directory


def dump_elsewhere(directory: Path, path: Path) -> Path:
    """Pack ``directory`` as a `.flm` in another process: a file this process did not write itself."""
    code = f"import flama; flama.dump({str(directory)!r}, {str(path)!r}, family='llm', lib='transformers')"
    subprocess.run([sys.executable, "-c", code], check=True)
    return path


class TestCaseCheckpointTrust:
    async def test_pickled_weights_are_refused(self, pickled_checkpoint: Path) -> None:
        resource = LLMResource(path="/llm/", name="x", source=pickled_checkpoint, backend=scripted("a"))
        with pytest.raises(UntrustedModel, match=r"pytorch_model\.bin"):
            await resource.load()
        assert not resource.ready

    async def test_pickled_weights_in_a_flm_file_are_refused(self, pickled_checkpoint: Path, tmp_path: Path) -> None:
        path = dump_elsewhere(pickled_checkpoint, tmp_path / "pickled.flm")
        resource = LLMResource(path="/llm/", name="x", source=path, backend=scripted("a"))
        with pytest.raises(UntrustedModel, match=r"pytorch_model\.bin"):
            await resource.load()

    @pytest.mark.parametrize("trusted", [pytest.param(True, id="flag"), pytest.param("checksum", id="checksum")])
    async def test_trusted_loads(
        self, pickled_checkpoint: Path, tmp_path: Path, trusted: bool | Collection[str]
    ) -> None:
        path = dump_elsewhere(pickled_checkpoint, tmp_path / "pickled.flm")
        if trusted == "checksum":
            trusted = [f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"]
        resource = LLMResource(path="/llm/", name="x", source=path, backend=scripted("a"), trusted=trusted)
        await resource.load()
        assert resource.ready
        await resource.unload()

    async def test_safetensors_need_no_trust(self, demo_model_dir: Path) -> None:
        resource = LLMResource(path="/llm/", name="x", source=demo_model_dir, backend=scripted("a"))
        await resource.load()
        assert resource.ready
        await resource.unload()
