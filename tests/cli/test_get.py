"""`flama get` end to end against a local stand-in for the Hub (tests/cli/hub.py) serving the demo checkpoint."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flama.models import load, read_meta

from tests.cli.hub import Hub, Repo, serve_hub

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "models" / "assistant.flm"
WEIGHTS = "model.safetensors"
# huggingface_hub keeps what it read of a dropped download in pieces of 10 MiB: a file cut after 11 MiB resumes at the
# 10 MiB mark, with a Range request.
PADDING = "padding.bin"
PADDING_SIZE = 22 * 1024 * 1024
RESUMED_AT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def checkpoint() -> dict[str, bytes]:
    """The demo model's checkpoint files, taken out of its .flm file."""
    artifact = load(DEMO)
    try:
        directory = Path(str(artifact.directory))
        return {str(f.relative_to(directory)): f.read_bytes() for f in sorted(directory.rglob("*")) if f.is_file()}
    finally:
        artifact.close()


@pytest.fixture(scope="module")
def classifier_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A scikit-learn classifier as a Hub repository holds one: a .skops file, or a pickle, beside a config."""
    import pickle

    from flama.models.serializers.skops_io import skops_io
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    skops_file = tmp_path_factory.mktemp("skops") / "model.skops"
    with skops_io() as sio:  # transformers may be imported in this process (see the guard)
        sio.dump(model, skops_file)
    return {"model.skops": skops_file.read_bytes(), "model.pkl": pickle.dumps(model), "config.json": b"{}"}


@pytest.fixture
def hub(checkpoint: dict[str, bytes], classifier_files: dict[str, bytes]) -> Iterator[Hub]:
    repos = {
        "flama/classifier": Repo({k: v for k, v in classifier_files.items() if k != "model.pkl"}),
        "flama/pickled": Repo({k: v for k, v in classifier_files.items() if k != "model.skops"}),
        "flama/assistant": Repo({**checkpoint, PADDING: bytes(PADDING_SIZE)}, cut_once={PADDING}),
        "flama/gated": Repo(dict(checkpoint), gated=True),
        "flama/unsafe": Repo({**checkpoint, "../escape.txt": b"x"}),
    }
    with serve_hub(repos) as served:
        yield served


def _get(hub: Hub, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "HF_ENDPOINT": hub.url,  # read by huggingface_hub when it is imported: hence a process of its own
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(cwd / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    environment.pop("HF_TOKEN", None)
    command = [sys.executable, "-m", "flama.cli.main", "get", *arguments]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


class TestCaseGetFromHub:
    def test_download_resumes_and_packs(self, hub, checkpoint, tmp_path):
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "llm", "flama/assistant")
        assert result.returncode == 0, result.stderr
        output = tmp_path / "flama_assistant.flm"
        assert result.stderr.endswith(f"Wrote {output.name}\n")
        # The padding was cut short once: the client came back for the rest with a Range request.
        ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith(PADDING)]
        assert ranges == [None, f"bytes={RESUMED_AT}-"]
        meta = read_meta(output)
        assert meta.family == "llm"
        assert meta.capabilities["chat_template"] is True
        assert meta.to_dict()["extra"]["source"] == "huggingface:flama/assistant@" + hub.repos["flama/assistant"].sha
        artifact = load(output)
        try:
            directory = Path(str(artifact.directory))
            assert {name: (directory / name).read_bytes() for name in checkpoint} == checkpoint
            assert (directory / PADDING).stat().st_size == PADDING_SIZE
        finally:
            artifact.close()
        assert not (tmp_path / "flama_assistant.flm.download").exists()
        assert not (tmp_path / "flama_assistant.flm.download.cache").exists()

    def test_include_and_output(self, hub, tmp_path):
        arguments = ["--source", "huggingface", "--family", "llm", "-o", "small.flm", "--include", "*.json"]
        result = _get(hub, tmp_path, *arguments, "flama/assistant")
        # Without weights the checkpoint is still a folder that packs; no weights were asked for.
        assert result.returncode == 0, result.stderr
        assert not [path for _, path, _ in hub.requests if path.endswith((WEIGHTS, PADDING))]
        assert (tmp_path / "small.flm").is_file()

    @pytest.mark.parametrize(
        ("repo", "arguments", "message"),
        [
            pytest.param("flama/missing", (), "Error: repository flama/missing not found", id="404"),
            pytest.param("flama/gated", (), "Error: flama/gated is gated: accept its terms", id="gated"),
            pytest.param("flama/assistant", ("--revision", "v9"), "Error: revision v9 of flama/assistant", id="rev"),
            pytest.param("flama/unsafe", (), "Error: refusing unsafe file name '../escape.txt'", id="unsafe"),
        ],
    )
    def test_errors(self, hub, tmp_path, repo, arguments, message):
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "llm", *arguments, repo)
        assert result.returncode == 1
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr
        assert not list(tmp_path.glob("*.flm"))
        assert not (tmp_path.parent / "escape.txt").exists()

    def test_gated_with_token(self, hub, tmp_path):
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "llm", "--token", "t", "flama/gated")
        assert result.returncode == 0, result.stderr


class TestCaseGetPredictive:
    def test_skops_model_is_packed_and_predicts(self, hub, tmp_path):
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "ml", "flama/classifier")
        assert result.returncode == 0, result.stderr
        meta = read_meta(tmp_path / "flama_classifier.flm")
        assert (meta.family, meta.to_dict()["framework"]["lib"]) == ("ml", "sklearn")
        artifact = load(tmp_path / "flama_classifier.flm")
        try:
            assert artifact.model.predict([[0.0], [3.0]]).tolist() == [0, 1]
        finally:
            artifact.close()

    def test_pickle_needs_trust(self, hub, tmp_path):
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "ml", "flama/pickled")
        assert result.returncode == 1
        assert "\nError: model.pkl is a pickle: loading it runs any code it holds." in result.stderr
        assert not (tmp_path / "flama_pickled.flm").exists()
        # The download stays for the next run, which packs it without downloading again.
        assert (tmp_path / "flama_pickled.flm.download" / "model.pkl").is_file()
        downloads = len(hub.requests)
        result = _get(hub, tmp_path, "--source", "huggingface", "--family", "ml", "--trust", "flama/pickled")
        assert result.returncode == 0, result.stderr
        assert read_meta(tmp_path / "flama_pickled.flm").family == "ml"
        assert not [path for method, path, _ in hub.requests[downloads:] if method == "GET" and "/resolve/" in path]


class TestCaseGetLocal:
    def test_packs_a_folder(self, checkpoint, tmp_path):
        folder = tmp_path / "checkpoint"
        folder.mkdir()
        for name, data in checkpoint.items():
            (folder / name).write_bytes(data)
        command = [sys.executable, "-m", "flama.cli.main", "get", "--source", "local", "--family", "llm", str(folder)]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert read_meta(tmp_path / "checkpoint.flm").family == "llm"

    def test_missing_folder(self, tmp_path):
        command = [sys.executable, "-m", "flama.cli.main", "get", "--source", "local", "--family", "llm", "nope"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr) == (1, "Error: nope is not a folder\n")
