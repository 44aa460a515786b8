"""flama-core scenarios and their targets (issue 2), each compared with its peers in the same run."""

from collections.abc import Callable
from dataclasses import dataclass

CORE = "flama-core"


@dataclass(frozen=True)
class Case:
    """One subject performing one operation; ``setup`` runs once (warm-up included), ``statement`` per iteration.

    ``environment`` names the benchmark venv whose interpreter runs it (see :mod:`benchmarks.environments`);
    ``baseline`` is the statement whose cost is subtracted (the empty loop's by default).
    """

    scenario: str
    subject: str
    setup: str
    statement: str
    iterations: int
    environment: str = "core"
    baseline: str = "pass"


Results = dict[tuple[str, str], float]


@dataclass(frozen=True)
class Target:
    """A goal stated as a ratio between two measured figures (``lower`` means the ratio must not exceed ``goal``).

    Without a ``denominator`` the goal is absolute: the numerator's own figure, in instructions.
    """

    description: str
    numerator: tuple[str, str]
    denominator: tuple[str, str] | None
    goal: float
    lower: bool

    def measured(self, results: Results) -> bool:
        """Whether every figure the target needs is in ``results``."""
        return self.numerator in results and (self.denominator is None or self.denominator in results)

    def ratio(self, results: Results) -> float:
        """The measured ratio numerator / denominator (the numerator itself for an absolute goal)."""
        return results[self.numerator] / (1.0 if self.denominator is None else results[self.denominator])

    def met(self, results: Results) -> bool:
        """Whether the measured ratio reaches the goal."""
        ratio = self.ratio(results)
        return ratio <= self.goal if self.lower else ratio >= self.goal


# ---- routing ----

ROUTES_SETUP = """
from flama.core import Router
router = Router()
for i in range({count}):
    router.add_route(f"/api/v1/resource{{i}}/{{{{id:int}}}}", methods=["GET", "POST"], name=f"r{{i}}")
    router.add_route(f"/api/v1/resource{{i}}/{{{{id:int}}}}/tags/{{{{tag}}}}", methods=["GET"], name=f"t{{i}}")
path = "/api/v1/resource{which}/42"
router.match("http", "GET", path)
"""


def route_cases() -> list[Case]:
    """Route matching with 10, 200 and 2,000 routes, hitting the first and the last resource."""
    cases = []
    for count in (10, 200, 2000):
        resources = count // 2
        for label, which in (("first", 0), ("last", resources - 1)):
            setup = ROUTES_SETUP.format(count=resources, which=which)
            name = f"route match, {count:,} routes, {label}"
            cases.append(Case(name, CORE, setup, 'router.match("http", "GET", path)', 20_000))
    return cases


# ---- json ----

ITEMS = """
data = [
    {"id": i, "name": f"item-{i}", "price": i * 1.5, "active": i % 2 == 0, "tags": ["a", "b"]}
    for i in range(10_000)
]
"""
JSON_ENCODERS = {
    CORE: ("from flama.core import json_encode", "json_encode(data)"),
    "stdlib json": (
        "import json",
        'json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()',
    ),
    "orjson": ("import orjson", "orjson.dumps(data)"),
}
JSON_DECODERS = {
    CORE: ("from flama.core import json_decode", "json_decode(raw)"),
    "stdlib json": ("import json", "json.loads(raw)"),
    "orjson": ("import orjson", "orjson.loads(raw)"),
}


def json_cases() -> list[Case]:
    """Encode and decode of a 10,000-item list of small dicts."""
    cases = []
    for subject, (imports, statement) in JSON_ENCODERS.items():
        setup = f"{imports}\n{ITEMS}\n{statement}\n"
        cases.append(Case("JSON encode, 10,000 items", subject, setup, statement, 10))
    for subject, (imports, statement) in JSON_DECODERS.items():
        setup = f"import json\n{imports}\n{ITEMS}\nraw = json.dumps(data).encode()\n{statement}\n"
        cases.append(Case("JSON decode, 10,000 items", subject, setup, statement, 10))
    return cases


# ---- multipart ----

MULTIPART_BODY = """
import os
boundary = "----flamabenchboundary7MA4YWxkTrZu0gW"
content_type = "multipart/form-data; boundary=" + boundary
fields = b"".join(
    f'--{boundary}\\r\\nContent-Disposition: form-data; name="field{i}"\\r\\n\\r\\nvalue {i}\\r\\n'.encode()
    for i in range(3)
)
payload = bytes(range(256)) * 4096
body = (
    fields
    + f'--{boundary}\\r\\nContent-Disposition: form-data; name="file"; filename="data.bin"\\r\\n'.encode()
    + b"Content-Type: application/octet-stream\\r\\n\\r\\n"
    + payload
    + f"\\r\\n--{boundary}--\\r\\n".encode()
)
chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
"""

MULTIPART_CORE = """
from flama.core.forms import parse_form

def parse():
    messages = iter([{"type": "http.request", "body": c, "more_body": True} for c in chunks]
                    + [{"type": "http.request", "body": b"", "more_body": False}])

    async def receive():
        return next(messages)

    coroutine = parse_form(receive, content_type)
    try:
        coroutine.send(None)
    except StopIteration as done:
        form = done.value
    else:
        raise RuntimeError("parse_form suspended")
    assert form["file"].size == len(payload), form
    form.close()

parse()
"""

# What Starlette does with python-multipart: callbacks collect fields and spool file data.
MULTIPART_PEER = """
import tempfile
from python_multipart.multipart import MultipartParser

def parse():
    form = []
    state = {}

    def on_part_begin():
        state.update(headers=[], data=bytearray(), file=None, field=b"", value=b"")

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"].append((state["field"].lower(), state["value"]))
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        disposition = dict(state["headers"]).get(b"content-disposition", b"")
        if b"filename=" in disposition:
            state["file"] = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)

    def on_part_data(data, start, end):
        if state["file"] is not None:
            state["file"].write(data[start:end])
        else:
            state["data"] += data[start:end]

    def on_part_end():
        form.append((dict(state["headers"]), state["file"] or bytes(state["data"])))

    callbacks = {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    }
    parser = MultipartParser(boundary.encode(), callbacks)
    for chunk in chunks:
        parser.write(chunk)
    parser.finalize()
    upload = form[-1][1]
    assert upload.tell() == len(payload)
    for _, value in form:
        if not isinstance(value, bytes):
            value.close()

parse()
"""


def multipart_cases() -> list[Case]:
    """A 1 MiB file and 3 fields fed in 64 KiB chunks, the file spooled."""
    name = "multipart, 1 MiB file + 3 fields"
    return [
        Case(name, CORE, MULTIPART_BODY + MULTIPART_CORE, "parse()", 20),
        Case(name, "python-multipart", MULTIPART_BODY + MULTIPART_PEER, "parse()", 20),
    ]


# ---- compression ----

STREAM_INPUT = (
    ITEMS
    + """
import json
raw = json.dumps(data).encode()
chunks = [raw[i : i + 16384] for i in range(0, len(raw), 16384)]
"""
)

COMPRESSORS = {
    # (codec label, level): {subject: (setup, one streaming pass with a flush per chunk)}
    ("gzip", 6): {
        CORE: (
            "from flama.core import Compressor",
            'c = Compressor("gzip", level=6)',
            "c.compress(chunk)",
            "c.finish()",
        ),
        "zlib (stdlib)": (
            "import zlib",
            "c = zlib.compressobj(6, zlib.DEFLATED, 31)",
            "c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)",
            "c.flush()",
        ),
    },
    ("br", 4): {
        CORE: ("from flama.core import Compressor", 'c = Compressor("br", level=4)', "c.compress(chunk)", "c.finish()"),
        "brotli": ("import brotli", "c = brotli.Compressor(quality=4)", "c.process(chunk) + c.flush()", "c.finish()"),
    },
    ("zstd", 3): {
        CORE: (
            "from flama.core import Compressor",
            'c = Compressor("zstd", level=3)',
            "c.compress(chunk)",
            "c.finish()",
        ),
        "zstandard": (
            "import zstandard",
            "c = zstandard.ZstdCompressor(level=3).compressobj()",
            "c.compress(chunk) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)",
            "c.flush()",
        ),
    },
}


def compression_cases() -> list[Case]:
    """Streaming compression of the 10,000-item JSON list in 16 KiB chunks, flushing after each chunk."""
    cases = []
    for (codec, level), subjects in COMPRESSORS.items():
        for subject, (imports, create, per_chunk, finish) in subjects.items():
            stream = f"def stream():\n    {create}\n    for chunk in chunks:\n        {per_chunk}\n    {finish}\n"
            setup = f"{imports}\n{STREAM_INPUT}\n{stream}\nstream()\n"
            cases.append(Case(f"streaming {codec} level {level}", subject, setup, "stream()", 3))
    return cases


def cases() -> list[Case]:
    """Every flama-core case."""
    return route_cases() + json_cases() + multipart_cases() + compression_cases()


def targets() -> list[Target]:
    """The goals of issue 2 as ratios of measured figures."""
    goals = [
        Target(
            "last of 2,000 routes costs at most 1.2x the first of 10",
            ("route match, 2,000 routes, last", CORE),
            ("route match, 10 routes, first", CORE),
            1.2,
            lower=True,
        ),
        Target(
            "JSON encode at least 4x faster than stdlib json",
            ("JSON encode, 10,000 items", "stdlib json"),
            ("JSON encode, 10,000 items", CORE),
            4.0,
            lower=False,
        ),
        Target(
            "JSON encode at least 0.5x orjson's speed",
            ("JSON encode, 10,000 items", "orjson"),
            ("JSON encode, 10,000 items", CORE),
            0.5,
            lower=False,
        ),
        Target(
            "JSON decode at least as fast as stdlib json",
            ("JSON decode, 10,000 items", "stdlib json"),
            ("JSON decode, 10,000 items", CORE),
            1.0,
            lower=False,
        ),
        Target(
            "multipart at least 5x faster than python-multipart",
            ("multipart, 1 MiB file + 3 fields", "python-multipart"),
            ("multipart, 1 MiB file + 3 fields", CORE),
            5.0,
            lower=False,
        ),
    ]
    peers: dict[str, str] = {"gzip": "zlib (stdlib)", "br": "brotli", "zstd": "zstandard"}
    for codec, level in COMPRESSORS:
        scenario = f"streaming {codec} level {level}"
        goals.append(
            Target(
                f"streaming {codec} at least 0.9x the throughput of {peers[codec]}",
                (scenario, peers[codec]),
                (scenario, CORE),
                0.9,
                lower=False,
            )
        )
    return goals


Suite = tuple[Callable[[], list[Case]], Callable[[], list[Target]]]
SUITE: Suite = (cases, targets)
