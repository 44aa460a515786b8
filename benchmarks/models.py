"""flama-models: wall time and peak memory of dump/load, beside Flama 2.2.2 in the same run.

Each measurement runs in a fresh interpreter (this one's for flama-models, the Flama 2.2.2 virtual environment made
by scripts/make-flama2-fixtures for Flama 2), so peak memory (``ru_maxrss``) belongs to that one operation; the
fastest of three runs is kept.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAMA2_PYTHON = ROOT / "tests" / "models" / ".flama2-venv" / "bin" / "python"

# One script per subject; argv: operation (dump-sklearn | load-sklearn | dump-bundle | load-bundle), work dir.
OURS = """
import pathlib, resource, sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
import flama.models as fm
op, work = sys.argv[1], pathlib.Path(sys.argv[2])
if op == "dump-sklearn":
    rng = np.random.default_rng(0); x = rng.random((2000, 20))
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(x, (x[:, 0] > 0.5).astype(int))
start = time.perf_counter()
if op == "dump-sklearn":
    fm.dump(model, work / "ours-sklearn.flm")
elif op == "load-sklearn":
    fm.load(work / "ours-sklearn.flm", trusted=True).model  # a pickle written by another process
elif op == "dump-bundle":
    # A directory is bundled as it is: the library name is only recorded.
    fm.dump(work / "bundle", work / "ours-bundle.flm", lib="sklearn", family="llm")
else:
    fm.load(work / "ours-bundle.flm").close()
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

FLAMA2 = """
import datetime, io, pathlib, resource, struct, sys, time, uuid
import numpy as np
from sklearn.ensemble import RandomForestClassifier
import flama.serialize as serialize
from flama.serialize.data_structures import FrameworkInfo, Metadata, ModelArtifact, ModelInfo
from flama.serialize.protocols import Protocol
op, work = sys.argv[1], pathlib.Path(sys.argv[2])
if op == "dump-sklearn":
    rng = np.random.default_rng(0); x = rng.random((2000, 20))
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(x, (x[:, 0] > 0.5).astype(int))
start = time.perf_counter()
if op == "dump-sklearn":
    serialize.dump(model, path=work / "f2-sklearn.flm", family="ml")
elif op == "load-sklearn":
    serialize.load(path=work / "f2-sklearn.flm").model
elif op == "dump-bundle":
    # Through the protocol layer: Flama 2's high-level dump needs transformers installed for a bundle.
    meta = Metadata(id=uuid.uuid4(), timestamp=datetime.datetime.now(),
                    framework=FrameworkInfo(family="llm", lib="transformers", version="0"), model=ModelInfo(obj="x"))
    with open(work / "f2-bundle.flm", "wb") as f:
        f.write(b"\\0" * 16)
        size = Protocol.from_version(2).dump(ModelArtifact(meta=meta, source=work / "bundle"), f, compression="zstd")
        f.seek(0); f.write(struct.pack("!IIQ", 2, 4, size))
else:
    with open(work / "f2-bundle.flm", "rb") as f:
        f.read(16); Protocol.from_version(2).load(f, compression="zstd")
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _measure(python: Path | str, script: str, operation: str, work: Path, repeat: int = 3) -> tuple[float, float]:
    """Seconds and peak resident MiB of one operation, the fastest of ``repeat`` runs, each in a fresh interpreter.

    The fastest run is the one least disturbed by other work on the machine; its own peak memory goes with it.
    """
    runs = []
    for _ in range(repeat):
        run = subprocess.run(
            [str(python), "-c", script, operation, str(work)], capture_output=True, text=True, check=True, cwd=ROOT
        )
        seconds, kib = run.stdout.split()[-2:]
        runs.append((float(seconds), int(kib) / 1024))
    return min(runs)


def _bundle(directory: Path, megabytes: int) -> None:
    """A checkpoint-like directory: half random bytes (incompressible), half repetitive (compressible)."""
    directory.mkdir()
    for index in range(megabytes // 10):
        with (directory / f"model-{index:05d}.safetensors").open("wb") as out:
            for step in range(10):
                out.write(os.urandom(1 << 20) if step % 2 else bytes(range(256)) * 4096)


def run(megabytes: int = 200) -> str:
    """Measure every operation for both subjects; returns the markdown table."""
    subjects: list[tuple[str, Path | str, str]] = [("flama-models", sys.executable, OURS)]
    if FLAMA2_PYTHON.exists():
        subjects.append(("Flama 2.2.2", FLAMA2_PYTHON, FLAMA2))
    else:
        sys.stderr.write("Flama 2.2.2 skipped: run scripts/make-flama2-fixtures --venv-only first\n")
    lines = ["| operation | subject | seconds | peak RSS (MiB) |", "|---|---|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="flm-bench-") as tmp:
        work = Path(tmp)
        _bundle(work / "bundle", megabytes)
        for operation, label in (
            ("dump-sklearn", "dump a random forest (50 trees)"),
            ("load-sklearn", "load it and unpickle"),
            ("dump-bundle", f"dump a {megabytes} MB bundle (zstd)"),
            ("load-bundle", f"load the {megabytes} MB bundle"),
        ):
            for subject, python, script in subjects:
                seconds, peak = _measure(python, script, operation, work)
                sys.stdout.write(f"{label:<40} {subject:<14} {seconds:8.3f} s {peak:8.1f} MiB\n")
                sys.stdout.flush()
                lines.append(f"| {label} | {subject} | {seconds:.3f} | {peak:.1f} |")
    return "\n".join(lines) + "\n"
