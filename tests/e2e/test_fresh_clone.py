"""The README's set-up, as a newcomer runs it: `make demo` in a fresh clone with a clean HOME.

Only the Rust toolchain (rustup's CARGO_HOME/RUSTUP_HOME), the interpreters (pyenv's root) and the machine's own
settings (its certificate store) are kept, as a newcomer would have them; uv, every Python package and the Rust
build start from nothing.
The time to a healthy server and the disk the demo's environment takes are written to
`benchmarks/.work/fresh-clone.json` (RESULTS.md quotes them).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 8000  # `make demo` serves where the README says, so the test uses that port too.

pytestmark = pytest.mark.slow


def disk_usage(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def newcomer_environment(home: Path) -> dict[str, str]:
    # The machine's own settings (its certificate store, locale, proxies) stay; what lives in HOME and the
    # workspace's environment go.
    dropped = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "UV_CACHE_DIR", "XDG_CACHE_HOME")
    environment = {name: value for name, value in os.environ.items() if name not in dropped}
    real_home = Path.home()
    environment["HOME"] = str(home)
    environment["CARGO_HOME"] = os.environ.get("CARGO_HOME", str(real_home / ".cargo"))
    environment["RUSTUP_HOME"] = os.environ.get("RUSTUP_HOME", str(real_home / ".rustup"))
    environment["PYENV_ROOT"] = os.environ.get("PYENV_ROOT", str(real_home / ".pyenv"))
    # The workspace's own environment must not leak into the newcomer's PATH.
    paths = [p for p in environment["PATH"].split(os.pathsep) if ".venv" not in p and ".local/bin" not in p]
    environment["PATH"] = os.pathsep.join(paths)
    return environment


def test_make_demo_in_a_fresh_clone(tmp_path: Path) -> None:
    with httpx.Client() as probe:
        try:
            probe.get(f"http://127.0.0.1:{PORT}/", timeout=1)
        except httpx.TransportError:
            pass
        else:
            pytest.fail(f"port {PORT}, where `make demo` serves, is taken by another server")
    clone = tmp_path / "flama"
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    started = time.monotonic()
    demo = subprocess.Popen(
        ["make", "demo"],
        cwd=clone,
        env=newcomer_environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = started + 900
        healthy = None
        while healthy is None:
            if demo.poll() is not None:
                pytest.fail(f"make demo exited with {demo.returncode}:\n{demo.communicate()[0]}")
            assert time.monotonic() < deadline, "make demo did not serve within 15 minutes"
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/health", timeout=1).status_code == 200:
                    healthy = time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.5)
        body = {"messages": [{"role": "user", "content": "Hello! Who are you?"}], "params": {"temperature": 0}}
        answer = httpx.post(f"http://127.0.0.1:{PORT}/llm/query/", json=body, timeout=60).json()
        assert answer["blocks"] == [{"type": "text", "text": "Hello! I am the tiny demo assistant of Flama."}]
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    assert "demo [" in output, output
    environment_bytes = disk_usage(clone / ".venv-demo")
    record = {
        "seconds_to_healthy": round(healthy, 1),
        "demo_environment_bytes": environment_bytes,
        "uv_cache_bytes": disk_usage(home / ".cache" / "uv") if (home / ".cache" / "uv").exists() else 0,
        "rust_target_bytes": disk_usage(clone / "crates" / "flama-core" / "target"),
    }
    work = ROOT / "benchmarks" / ".work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "fresh-clone.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    assert environment_bytes < 1.5 * 2**30, record
    assert not (clone / ".venv").exists(), "make demo must not install the development environment"
    shutil.rmtree(clone, ignore_errors=True)
