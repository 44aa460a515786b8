# mypy: ignore-errors
# (It imports Flama 2.2.2, which only its own virtual environment has.)
"""Runs inside the Flama 2.2.2 virtual environment (see scripts/make-flama2-fixtures), never under pytest.

``make DIR`` writes fixtures with Flama 2.2.2's own code; ``check FILE...`` loads files written by this workspace
with Flama 2.2.2 and prints one JSON line per file.
"""

import datetime
import io
import json
import pathlib
import struct
import sys
import tempfile
import uuid

import flama.serialize as serialize
import numpy as np
from flama.serialize.data_structures import FrameworkInfo, Metadata, ModelArtifact, ModelInfo
from flama.serialize.protocols import Protocol
from sklearn.linear_model import LogisticRegression

FILE_HEADER = struct.Struct("!IIQ")
CODEC_IDS = {"bz2": 1, "lzma": 2, "zlib": 3, "zstd": 4}
INPUTS = [[0.1, 0.2, 0.3], [0.9, 0.8, 0.7], [0.6, 0.1, 0.5]]


def sklearn_model() -> LogisticRegression:
    rng = np.random.default_rng(7)
    inputs = rng.random((40, 3))
    return LogisticRegression().fit(inputs, (inputs[:, 0] > 0.5).astype(int))


def bundle_file(directory: pathlib.Path, path: pathlib.Path, compression: str) -> None:
    """A bundle through 2.2.2's protocol layer: its high-level dump would need transformers installed."""
    meta = Metadata(
        id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        timestamp=datetime.datetime(2026, 1, 2, 3, 4, 5),
        framework=FrameworkInfo(family="llm", lib="transformers", version="4.57.0", config={"task": "text-generation"}),
        model=ModelInfo(obj="LlamaForCausalLM", info=None),
    )
    body = io.BytesIO()
    size = Protocol.from_version(2).dump(ModelArtifact(meta=meta, source=directory), body, compression=compression)
    path.write_bytes(FILE_HEADER.pack(2, CODEC_IDS[compression], size) + body.getvalue())


def make(target: pathlib.Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    model = sklearn_model()
    with tempfile.TemporaryDirectory() as tmp:
        labels = pathlib.Path(tmp) / "labels.txt"
        labels.write_text("no\nyes\n")
        for protocol, compression in ((2, "zstd"), (2, "lzma"), (1, "zlib")):
            serialize.dump(
                model,
                path=target / f"sklearn-v{protocol}-{compression}.flm",
                family="ml",
                protocol=protocol,
                compression=compression,
                model_id="fish-model",
                timestamp=datetime.datetime(2026, 1, 2, 3, 4, 5),
                metrics={"accuracy": 0.9},
                extra={"owner": "fish"},
                artifacts={"labels.txt": labels},
            )
        checkpoint = pathlib.Path(tmp) / "checkpoint"
        (checkpoint / "sub").mkdir(parents=True)
        (checkpoint / "config.json").write_text('{"model_type": "llama"}')
        (checkpoint / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 64)
        bundle_file(checkpoint, target / "bundle-v2-zstd.flm", "zstd")
    expected = {"predictions": model.predict(np.array(INPUTS)).tolist()}
    (target / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


def check(paths: list[str]) -> None:
    for name in paths:
        raw = pathlib.Path(name).read_bytes()
        protocol, codec, _size = FILE_HEADER.unpack(raw[: FILE_HEADER.size])
        compression = {v: k for k, v in CODEC_IDS.items()}[codec]
        artifact = Protocol.from_version(protocol).load(io.BytesIO(raw[FILE_HEADER.size :]), compression=compression)
        result: dict[str, object] = {
            "file": name,
            "id": str(artifact.meta.id),
            "family": artifact.meta.framework.family,
            "lib": artifact.meta.framework.lib,
            "artifacts": sorted(artifact.artifacts or {}),
        }
        if isinstance(artifact.source, pathlib.Path):
            result["files"] = sorted(str(p.relative_to(artifact.source)) for p in artifact.source.rglob("*"))
        else:
            result["predictions"] = artifact.model.predict(np.array(INPUTS)).tolist()
        print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(pathlib.Path(sys.argv[2]))
    else:
        check(sys.argv[2:])
