"""A backend never needs another backend's stack: `flama serve` answers the demo model's reply with MLX while torch
(the transformers backend's stack) and vLLM cannot be imported, and with transformers while MLX cannot.

Each server is a real `flama serve` process whose interpreter has the other stacks' packages marked unimportable
(``sys.modules[name] = None``: an ``import`` of one raises ``ImportError`` and ``find_spec`` reports it missing), so a
backend that imported one of them, directly or through our code, fails to load and `/health` never answers 200.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from examples.models import build_demo_model
from tests.cli.processes import free_port

MODELS = Path(build_demo_model.__file__).parent
DEMO = MODELS / build_demo_model.FLM_NAME

# `python -m flama.cli.main ARGS...` with the packages named in FLAMA_TEST_BLOCKED (commas) unimportable.
RUNNER = (
    "import os, runpy, sys\n"
    "sys.modules.update(dict.fromkeys(os.environ['FLAMA_TEST_BLOCKED'].split(',')))\n"
    "runpy.run_module('flama.cli.main', run_name='__main__', alter_sys=True)\n"
)


@contextmanager
def serve_without(backend: str, blocked: Sequence[str], log: Path) -> Iterator[str]:
    """`flama serve` of the demo model on ``backend``, the ``blocked`` packages unimportable; its URL once healthy."""
    port = free_port()
    command = [sys.executable, "-c", RUNNER, "serve", "--model", f"file={DEMO},url=/llm/,name=assistant"]
    command += ["--backend", backend, "--server-port", str(port), "--server-log-level", "warning"]
    environment = {**os.environ, "FLAMA_TEST_BLOCKED": ",".join(blocked)}
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as stderr:
        server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    health = httpx.get(url + "/health", timeout=1)
                    if health.status_code == 200:
                        break
                    assert health.json()["models"]["assistant"] == "loading", health.text
                except httpx.TransportError:
                    pass
                assert server.poll() is None, f"the server exited: {log.read_text()}"
                assert time.monotonic() < deadline, "the model did not load"
                time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.parametrize(
    ("backend", "blocked"),
    [
        pytest.param("mlx", ["torch", "vllm"], id="mlx-without-torch-and-vllm"),
        pytest.param("transformers", ["mlx", "mlx_lm", "vllm"], id="transformers-without-mlx-and-vllm"),
    ],
)
def test_backend_serves_without_the_other_stacks(backend: str, blocked: list[str], tmp_path: Path) -> None:
    plain = {c["id"]: c for c in json.loads((MODELS / build_demo_model.EXPECT_NAME).read_text())["conversations"]}[
        "plain"
    ]

    with serve_without(backend, blocked, tmp_path / "server.log") as url:
        answer = httpx.post(url + "/llm/query/", json={"messages": plain["messages"], "params": {"temperature": 0}})
        backend_used = httpx.get(url + "/llm/").json()["backend"]

    assert answer.status_code == 200, answer.text
    assert answer.json()["blocks"] == [{"type": "text", "text": plain["reply"]}]
    assert backend_used == backend
