"""Cold start of `flama serve` on the demo model: seconds until /health answers 200, and resident memory.

Each environment given (by default make demo's lean `.venv-demo` and the development `.venv`) serves the demo model
from a new process, ``RUNS`` times, alternating. Wall time depends on the machine's load, so the process's own CPU
time (user + system, from /proc) is reported beside it: on an idle machine the two are close, since start-up is one
thread's work.
"""

import os
import statistics
import subprocess
import time
from pathlib import Path

import httpx

from benchmarks.load import free_port, resident_bytes

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "models" / "assistant.flm"
ENVIRONMENTS = {"lean (make demo)": ROOT / ".venv-demo", "development (make install)": ROOT / ".venv"}
RUNS = 3
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_start(environment: Path) -> tuple[float, float, float]:
    """Start the demo once: (wall seconds to healthy, CPU seconds by then, resident MiB after one answer)."""
    port = free_port()
    command = [
        str(environment / "bin" / "flama"),
        "serve",
        "--model",
        f"file={DEMO},url=/llm/,name=assistant",
        "--server-port",
        str(port),
        "--server-log-level",
        "warning",
    ]
    started = time.monotonic()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"{command} exited with {server.returncode}")
                try:
                    if client.get("/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
            wall = time.monotonic() - started
            cpu = cpu_seconds(server.pid)
            body = {"messages": [{"role": "user", "content": "Hello! Who are you?"}], "params": {"temperature": 0}}
            client.post("/llm/query/", json=body, timeout=60).raise_for_status()
            return wall, cpu, resident_bytes(server.pid) / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(environments: dict[str, Path] | None = None) -> str:
    """Measure every environment that exists; a Markdown table."""
    chosen = {name: path for name, path in (environments or ENVIRONMENTS).items() if (path / "bin" / "flama").exists()}
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in chosen}
    for _ in range(RUNS):
        for name, path in chosen.items():
            samples[name].append(one_start(path))
    rows = [
        "| environment | healthy after (wall, median) | CPU time by then | resident after one answer |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in samples.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        rss = statistics.median(run[2] for run in runs)
        rows.append(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MiB |")
    load = os.getloadavg()[0]
    return "\n".join(rows) + f"\n\n{RUNS} starts each, alternated; load average {load:.1f} on {os.cpu_count()} cores.\n"


if __name__ == "__main__":
    print(run())
