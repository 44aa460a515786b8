"""Cold start of `flama serve` on the demo model: seconds until /health answers 200, and resident memory.

Each environment given (by default make demo's lean `.venv-demo` and the development `.venv`) serves the demo model
from a new process, ``RUNS`` times, alternating. Wall time depends on the machine's load, so the process's own CPU
time (user + system, from /proc) is reported beside it: on an idle machine the two are close, since start-up is one
thread's work.

Where the time goes is measured apart, in CPU seconds (which load changes far less than wall time): a child process in
each environment takes the steps `flama serve` takes (import the CLI, build the application, load the server,
import the model's backend library, load the model) and reports its CPU time after each.

Whether Python may write bytecode matters: with ``PYTHONDONTWRITEBYTECODE`` set (as on this project's machines)
every module without bytecode compiled ahead is compiled again at each start. ``make demo`` compiles the lean
environment's bytecode when it installs it (as pip does); the footnote says whether bytecode may be written.
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


# The steps of `flama serve`, in the environment's own interpreter: each line of output is a step and the process's
# CPU seconds once it is done. The model's backend library is imported apart from the model's loading.
PHASES = """
import asyncio, resource, sys
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
print("interpreter", cpu())
import flama.cli.main, flama.cli.serve
print("import the CLI", cpu())
from flama.cli.specs import build_app, parse_spec
app = build_app([parse_spec(sys.argv[1])])
print("build the application", cpu())
import uvicorn
from flama.http.server import ServerLimits, server_defaults
uvicorn.Config(app, **server_defaults(ServerLimits())).load()
print("load the server", cpu())
(model,) = app.modules.get("models").resources.values()
from flama.llm.backends import select_backend
for library in select_backend(None).libraries:
    __import__(library)
print("import the backend library", cpu())
async def load():
    await model.load()
    print("load the model", cpu())
    await model.unload()
asyncio.run(load())
"""


def phases(environment: Path) -> dict[str, float]:
    """CPU seconds each step of starting the demo takes in ``environment``'s interpreter, in order."""
    spec = f"file={DEMO},url=/llm/,name=assistant"
    output = subprocess.run(
        [str(environment / "bin" / "python"), "-c", PHASES, spec], capture_output=True, text=True, check=True
    ).stdout
    steps, before = {}, 0.0
    for line in output.splitlines():
        name, _, seconds = line.rpartition(" ")
        steps[name], before = float(seconds) - before, float(seconds)
    return steps


def run(environments: dict[str, Path] | None = None) -> str:
    """Measure every environment that exists; Markdown tables (wall time and memory, then CPU time by step)."""
    chosen = {name: path for name, path in (environments or ENVIRONMENTS).items() if (path / "bin" / "flama").exists()}
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in chosen}
    steps: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    for _ in range(RUNS):
        for name, path in chosen.items():
            samples[name].append(one_start(path))
            steps[name].append(phases(path))
    rows = [
        "| environment | healthy after (wall, median) | CPU time by then | resident after one answer |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in samples.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        rss = statistics.median(run[2] for run in runs)
        rows.append(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MiB |")
    names = list(chosen)
    rows += ["", "| step (CPU seconds, median) | " + " | ".join(names) + " |", "|---" + "|---:" * len(names) + "|"]
    for step in steps[names[0]][0] if names else {}:
        cells = [f"{statistics.median(run[step] for run in steps[name]):.2f}" for name in names]
        rows.append(f"| {step} | " + " | ".join(cells) + " |")
    load = os.getloadavg()[0]
    bytecode = (
        "may not be written (PYTHONDONTWRITEBYTECODE)"
        if os.environ.get("PYTHONDONTWRITEBYTECODE")
        else "may be written"
    )
    return "\n".join(rows) + (
        f"\n\n{RUNS} starts each, alternated; load average {load:.1f} on {os.cpu_count()} cores; bytecode {bytecode}.\n"
    )


if __name__ == "__main__":
    print(run())
