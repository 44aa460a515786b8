"""The virtual environments the benchmarks run in, created from PyPI by the harness itself.

Every subject of a comparison runs with the same interpreter, so the figures differ only by the code under test: the
release builds of this tree's distributions sit beside the peers they are compared to. Flama 2 has the import name
``flama`` too, so it gets a venv of its own.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / "benchmarks" / ".venvs"
WORK = ROOT / "benchmarks" / ".work"
DIST = WORK / "dist"

# Pinned so that figures recorded in RESULTS.md can be reproduced.
CORE_PEERS = ["orjson==3.13.0", "python-multipart==0.0.34", "brotli==1.2.1", "zstandard==0.25.0"]
# What every HTTP venv shares: the server and the libraries all the frameworks use, at the same versions.
SERVER = [
    "uvicorn[standard]==0.54.0",
    "uvloop==0.23.0",
    "httptools==0.9.0",
    "python-multipart==0.0.34",
    "pydantic==2.14.3",
    "anyio==4.16.0",
]
HTTP_PEERS = ["starlette==1.10.0", "fastapi==0.165.0", *SERVER]
FLAMA2 = ["flama[pydantic]==2.2.2", *SERVER]

# This tree's distributions each venv installs, built as release wheels.
CORE_PACKAGES = ["flama-core"]
HTTP_PACKAGES = ["flama-core", "flama-http", "flama-middleware"]
# Packages whose wheels this process has already built.
BUILT: set[str] = set()


def uv(*args: str | Path) -> None:
    """Run ``uv`` with ``args``, failing loudly."""
    subprocess.run(["uv", *[str(a) for a in args]], check=True, cwd=ROOT)


def wheel(package: str, rebuild: bool) -> Path:
    """The newest wheel of ``package`` built from this tree, built first when ``rebuild`` or when there is none."""
    pattern = f"{package.replace('-', '_')}-*.whl"
    if rebuild or not any(DIST.glob(pattern)):
        uv("build", "--quiet", "--package", package, "--wheel", "--out-dir", DIST)
    return max(DIST.glob(pattern), key=lambda path: path.stat().st_mtime)


def environment(name: str, requirements: list[str], packages: list[str], rebuild: bool) -> Path:
    """The venv ``name`` with ``requirements`` from PyPI and this tree's ``packages``; returns its interpreter.

    ``rebuild`` builds this tree's wheels again (once per run: later venvs reuse them) and reinstalls them.
    """
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / "local-wheels.installed"
    fresh = not python.exists()
    wheels: list[Path] = []
    if packages and (fresh or rebuild or not marker.exists()):
        wheels = [wheel(package, rebuild and package not in BUILT) for package in packages]
        BUILT.update(packages)
    if fresh:
        uv("venv", "--quiet", "--python", sys.executable, venv)
        # One resolution for the peers and this tree's wheels, so the wheels' own dependencies come along.
        uv("pip", "install", "--quiet", "--python", python, *requirements, *wheels)
    elif wheels:
        uv("pip", "install", "--quiet", "--reinstall", "--no-deps", "--python", python, *wheels)
    if wheels:
        marker.write_text("\n".join(path.name for path in wheels))
    return python


def core_environment(rebuild: bool = True) -> Path:
    """A venv with the release flama-core wheel and its peers."""
    return environment("core", CORE_PEERS, CORE_PACKAGES, rebuild)


def http_environment(rebuild: bool = True) -> Path:
    """A venv with this tree's flama-core, flama-http and flama-middleware, Starlette, FastAPI and the server."""
    return environment("http", HTTP_PEERS, HTTP_PACKAGES, rebuild)


def flama2_environment() -> Path:
    """A venv with Flama 2.2.2 from PyPI and the server."""
    return environment("flama2", FLAMA2, [], rebuild=False)
