"""Instruction counts per operation, measured with valgrind's callgrind.

Each measurement runs two scripts under callgrind with the same interpreter, environment and setup: one executes
the operation ``n`` times in a loop, the other runs the same loop with a baseline body (empty by default). The
difference divided by ``n`` is the cost of one operation, with interpreter start-up, imports, setup and the driver's
own loop cancelled out. Callgrind sums every thread of the process into its totals, so work offloaded to a thread
pool is counted.
"""

import os
import re
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Measurement:
    """The instructions one operation costs, with how many iterations were measured."""

    instructions: float
    iterations: int


def loop_script(setup: str, statement: str, iterations: int) -> str:
    """A script that runs ``setup`` once, then ``statement`` ``iterations`` times (``pass`` for the baseline)."""
    body = textwrap.indent(textwrap.dedent(statement).strip(), "    ")
    return f"{textwrap.dedent(setup).strip()}\n\nfor _ in range({iterations}):\n{body}\n"


def count_instructions(python: Path, script: str, workdir: Path) -> int:
    """Total instructions callgrind counts for running ``script`` with ``python``."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=workdir, delete=False) as handle:
        handle.write(script)
        path = Path(handle.name)
    output = path.with_suffix(".callgrind")
    environment = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", str(python), str(path)],
            check=True,
            capture_output=True,
            env=environment,
            cwd=workdir,
        )
        found = TOTALS.search(output.read_bytes())
        if found is None:
            raise RuntimeError(f"callgrind wrote no totals for {path}")
        return int(found.group(1))
    finally:
        path.unlink(missing_ok=True)
        output.unlink(missing_ok=True)


def measure(
    python: Path, setup: str, statement: str, iterations: int, workdir: Path, baseline: str = "pass"
) -> Measurement:
    """Instructions per execution of ``statement`` after ``setup``, the cost of a loop of ``baseline`` subtracted."""
    full = count_instructions(python, loop_script(setup, statement, iterations), workdir)
    empty = count_instructions(python, loop_script(setup, baseline, iterations), workdir)
    return Measurement((full - empty) / iterations, iterations)
