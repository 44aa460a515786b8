"""flama-mcp scenarios and their targets (issue 13): MCP requests through each subject's ASGI callable, same run.

Every subject serves the tool ``add`` at ``/mcp/`` from its module under :mod:`benchmarks.apps` and is driven by the
same :class:`benchmarks.asgi.Driver` with the same 2026-07-28 request (``_meta`` envelope and routing headers: the
revision all three subjects speak). The official SDK's server runs stateless with JSON responses on Starlette, as
its documentation recommends for horizontally scaled deployments. The empty loop's cost is subtracted.

``python -m benchmarks load --suite mcp`` serves each subject with uvicorn (uvloop, httptools, one worker) and
measures requests per second with wrk on loopback.
"""

import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.core import Case, Suite, Target
from benchmarks.environments import ROOT, SERVER, environment
from benchmarks.load import free_port, wrk_rate

OURS = "flama-mcp (Flama app)"
SDK = "mcp 2.3 SDK"
FLAMA2_LABEL = "Flama 2.2.2"
# The SDK and Starlette at the versions measured, beside the server every HTTP venv shares.
MCP_PEERS = ["mcp==2.3.0", "starlette==1.10.0", *SERVER]


@dataclass(frozen=True)
class Subject:
    """A server under test: its label, its app (``module:attribute`` under ``benchmarks.apps``) and its venv."""

    label: str
    app: str
    environment: str


SUBJECTS = [
    Subject(OURS, "mcp_flama:app", "mcp"),
    Subject(SDK, "mcp_sdk:app", "mcp"),
    Subject(FLAMA2_LABEL, "mcp_flama2:app", "flama2"),
]

META = (
    '{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    '"io.modelcontextprotocol/clientCapabilities":{},'
    '"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}'
)
SCENARIOS = {
    "tools/list": (f'{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"_meta":{META}}}}}', None, b'"add"'),
    "tools/call add": (
        f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","arguments":{{"a":2,"b":3}},'
        f'"_meta":{META}}}}}',
        "add",
        b'"text":"5"',
    ),
}

SETUP = """
import sys
sys.path.insert(0, {root!r})
from benchmarks.apps.{module} import {attribute} as app
from benchmarks.asgi import Driver

body = {body!r}.encode()
headers = [
    ("host", "127.0.0.1:8000"),
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("content-length", str(len(body))),
    ("mcp-protocol-version", "2026-07-28"),
    ("mcp-method", {method!r}),
]
if {name!r}:
    headers.append(("mcp-name", {name!r}))
driver = Driver(app)
driver.prepare("POST", "/mcp/", headers, body)
status, answer_headers, answer = driver.response()
assert status == 200 and {check!r} in answer.replace(b" ", b""), (status, answer[:400])
for _ in range(5):
    driver.request()
"""


def mcp_environment(rebuild: bool = True) -> Path:
    """A venv with this tree's flama-core, flama-http and flama-mcp, the official SDK and Starlette."""
    return environment("mcp", MCP_PEERS, ["flama-core", "flama-http", "flama-mcp"], rebuild)


def cases() -> list[Case]:
    """Every scenario for every subject."""
    found = []
    for scenario, (body, name, check) in SCENARIOS.items():
        method = scenario.split()[0]
        for subject in SUBJECTS:
            module, attribute = subject.app.split(":")
            setup = SETUP.format(
                root=str(ROOT), module=module, attribute=attribute, body=body, method=method, name=name, check=check
            )
            found.append(Case(scenario, subject.label, setup, "driver.request()", 200, subject.environment))
    return found


def targets() -> list[Target]:
    """The goals of issue 13: at most half the official SDK's instructions for each scenario."""
    return [
        Target(f"{scenario}, {OURS} vs the SDK", (scenario, OURS), (scenario, SDK), 0.5, lower=True)
        for scenario in SCENARIOS
    ]


SUITE: Suite = (cases, targets)


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "{method}"
{name}
"""


def requests_per_second(python: Path, app: str, scenario: str, seconds: int, workdir: Path) -> float:
    """Requests per second wrk reaches against ``app`` (uvicorn, uvloop, httptools, one worker) on loopback."""
    body, name, check = SCENARIOS[scenario]
    method = scenario.split()[0]
    script = workdir / f"{method.replace('/', '-')}.lua"
    script.write_text(
        WRK_SCRIPT.format(body=body, method=method, name=f'wrk.headers["Mcp-Name"] = "{name}"' if name else "")
    )
    port = free_port()
    command = [python, "-m", "uvicorn", f"benchmarks.apps.{app}", "--port", str(port), "--loop", "uvloop"]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen([str(part) for part in command], cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/mcp/"
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(url, data=body.encode(), method="POST")
            for header in ("Content-Type", "Accept"):
                request.add_header(header, "application/json")
            request.add_header("MCP-Protocol-Version", "2026-07-28")
            request.add_header("Mcp-Method", method)
            if name:
                request.add_header("Mcp-Name", name)
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:
                    assert check in answer.read().replace(b" ", b"")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return wrk_rate(url, seconds, 32, script)
    finally:
        server.terminate()
        server.wait(timeout=10)


def load(pythons: dict[str, Path], seconds: int, workdir: Path) -> str:
    """The ``mcp-load`` section: requests per second of every subject, and the target against the SDK."""
    rates: dict[tuple[str, str], float] = {}
    lines = ["| scenario | subject | requests/s |", "|---|---|---:|"]
    for scenario in SCENARIOS:
        for subject in SUBJECTS:
            rate = requests_per_second(pythons[subject.environment], subject.app, scenario, seconds, workdir)
            rates[(scenario, subject.label)] = rate
            lines.append(f"| {scenario} | {subject.label} | {rate:,.0f} |")
    ratio = rates[("tools/call add", OURS)] / rates[("tools/call add", SDK)]
    lines += [
        "",
        "| target | goal | reached | met |",
        "|---|---:|---:|---|",
        f"| tools/call add, {OURS} vs the SDK | ≥ 2x | {ratio:.2f}x | {'yes' if ratio >= 2 else '**no**'} |",
    ]
    return "\n".join(lines) + "\n"
