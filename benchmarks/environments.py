"""The virtual environments the benchmarks run in, created from PyPI by the harness itself.

Every subject of a comparison runs with the same interpreter in the same venv, so the figures differ only by the
code under test: the release build of flama-core (built from this tree) sits beside the peers it is compared to.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / "benchmarks" / ".venvs"
WORK = ROOT / "benchmarks" / ".work"

# Peers of flama-core, pinned so that figures recorded in RESULTS.md can be reproduced.
CORE_PEERS = ["orjson==3.13.0", "python-multipart==0.0.34", "brotli==1.2.1", "zstandard==0.25.0"]


def uv(*args: str | Path) -> None:
    """Run ``uv`` with ``args``, failing loudly."""
    subprocess.run(["uv", *[str(a) for a in args]], check=True, cwd=ROOT)


def core_environment(rebuild: bool = True) -> Path:
    """A venv with the release flama-core wheel and its peers; returns its interpreter."""
    venv = VENVS / "core"
    python = venv / "bin" / "python"
    if not python.exists():
        uv("venv", "--quiet", "--python", sys.executable, venv)
        uv("pip", "install", "--quiet", "--python", python, *CORE_PEERS)
    if rebuild or not (venv / "flama-core.installed").exists():
        dist = WORK / "dist"
        uv("build", "--quiet", "--package", "flama-core", "--wheel", "--out-dir", dist)
        wheels = sorted(dist.glob("flama_core-*.whl"), key=lambda p: p.stat().st_mtime)
        uv("pip", "install", "--quiet", "--reinstall", "--no-deps", "--python", python, wheels[-1])
        (venv / "flama-core.installed").write_text(wheels[-1].name)
    return python
