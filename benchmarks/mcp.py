"""flama-mcp scenarios and their targets (issue 13): MCP requests through each subject's ASGI callable, same run.

Every subject serves the tool ``add`` at ``/mcp/`` from its module under :mod:`benchmarks.apps` and is driven by the
same :class:`benchmarks.asgi.Driver` with the same 2026-07-28 request (``_meta`` envelope and routing headers: the
revision all three subjects speak). The official SDK's server runs stateless with JSON responses on Starlette, as
its documentation recommends for horizontally scaled deployments. The empty loop's cost is subtracted.
"""

from dataclasses import dataclass
from pathlib import Path

from benchmarks.core import Case, Suite, Target
from benchmarks.environments import FLAMA2, ROOT, SERVER, environment

OURS = "flama-mcp (Flama app)"
STANDALONE = "flama-mcp (standalone)"
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
    Subject(STANDALONE, "mcp_flama:server", "mcp"),
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
        b'"structuredContent":{"result":5}',
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


def flama2_environment() -> Path:
    """The Flama 2.2.2 venv (its MCP module needs no extra)."""
    return environment("flama2", FLAMA2, [], rebuild=False)


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
