"""flama-http scenarios and their targets (issue 3): requests through each subject's ASGI callable, same run.

Every subject serves the same endpoints from its own module under :mod:`benchmarks.apps` and is driven by the same
:class:`benchmarks.asgi.Driver`: a pre-built scope, a ``receive`` that hands out the body, a ``send`` that discards,
one reused event loop. The setup checks each subject's answer once (status and content) and warms it up.

Each figure is net of the floor: the same request answered by a bare ASGI callable (:mod:`benchmarks.apps.raw`) on
the same driver and loop is the baseline subtracted, so the driver, the event loop's turn and the body's messages
are not counted; the floor itself is reported once, for the hello request.
"""

from dataclasses import dataclass

from benchmarks.core import Case, Suite, Target
from benchmarks.environments import ROOT

OURS = "flama-http"


@dataclass(frozen=True)
class Subject:
    """A framework under test: its label, its module under ``benchmarks.apps`` and the venv it runs in."""

    label: str
    module: str
    environment: str


SUBJECTS = [
    Subject(OURS, "flama", "http"),
    Subject("Starlette 1.10", "starlette", "http"),
    Subject("FastAPI 0.165", "fastapi", "http"),
    Subject("Flama 2.2.2", "flama2", "flama2"),
]
# A bare ASGI callable answering hello: what the driver and the event loop cost by themselves.
FLOOR = Subject("floor (driver + bare ASGI app)", "raw", "http")


@dataclass(frozen=True)
class Scenario:
    """One request: the app attribute it goes to, the request itself, a check of the answer and its goal."""

    name: str
    attribute: str
    method: str
    path: str
    headers: str
    body: str
    check: str
    iterations: int
    goal: float


UPLOAD_HEADERS = '[("content-type", UPLOAD_TYPE), ("content-length", str(len(upload_body())))]'

SCENARIOS = [
    Scenario("GET JSON hello", "app", "GET", "/hello", "[]", 'b""', 'body == b\'{"message":"hello"}\'', 1000, 50e3),
    Scenario(
        "200 routes, hit the last", "routed", "GET", "/resource199/42", "[]", 'b""', "body == b'{\"id\":42}'", 100, 60e3
    ),
    Scenario("10,000-item JSON list", "app", "GET", "/items", "[]", 'b""', "len(body) > 700_000", 5, 30e6),
    Scenario("SSE, 1,000 events", "app", "GET", "/sse", "[]", 'b""', 'body.count(b"data:") == 1000', 10, 10e6),
    Scenario("NDJSON, 1,000 lines", "app", "GET", "/ndjson", "[]", 'b""', 'body.count(b"\\n") == 1000', 10, 8e6),
    Scenario(
        "multipart 1 MiB + 3 fields",
        "app",
        "POST",
        "/upload",
        UPLOAD_HEADERS,
        "upload_body()",
        "b'\"size\":1048576' in body and b'value 2' in body",
        20,
        2.5e6,
    ),
    Scenario(
        "gzip level 9 of the JSON list",
        "compressed",
        "GET",
        "/items",
        '[("accept-encoding", "gzip")]',
        'b""',
        'headers[b"content-encoding"] == b"gzip"',
        3,
        150e6,
    ),
]

SETUP = """
import sys
sys.path.insert(0, {root!r})
from benchmarks.apps import UPLOAD_TYPE, upload_body
from benchmarks.apps.raw import app as bare
from benchmarks.apps.{module} import {attribute} as app
from benchmarks.asgi import Driver

driver = Driver(app)
driver.prepare({method!r}, {path!r}, {headers}, {body})
status, headers, body = driver.response()
assert status == 200 and {check}, (status, headers, body[:300])
floor = Driver(bare, driver.loop)
floor.prepare({method!r}, {path!r}, {headers}, {body})
for _ in range(3):
    driver.request()
    floor.request()
"""


def case(scenario: Scenario, subject: Subject, baseline: str = "floor.request()") -> Case:
    """One scenario for one subject, the floor's cost subtracted (the empty loop's with ``baseline="pass"``)."""
    return Case(
        scenario.name,
        subject.label,
        SETUP.format(
            root=str(ROOT),
            module=subject.module,
            attribute=scenario.attribute,
            method=scenario.method,
            path=scenario.path,
            headers=scenario.headers,
            body=scenario.body,
            check=scenario.check,
        ),
        "driver.request()",
        scenario.iterations,
        subject.environment,
        baseline,
    )


def cases() -> list[Case]:
    """Every scenario for every subject, and the floor itself for the hello request."""
    return [case(SCENARIOS[0], FLOOR, baseline="pass")] + [
        case(scenario, subject) for scenario in SCENARIOS for subject in SUBJECTS
    ]


def targets() -> list[Target]:
    """The goals of issue 3: instructions per request for flama-http."""
    return [
        Target(
            f"{scenario.name}, {OURS}",
            (scenario.name, OURS),
            None,
            scenario.goal,
            lower=True,
        )
        for scenario in SCENARIOS
    ]


SUITE: Suite = (cases, targets)
