"""Benchmark runner: ``python -m benchmarks run [-k SUBSTRING]`` measures and writes benchmarks/RESULTS.md.

``python -m benchmarks load APP PATH`` runs the loopback load test (wrk against uvicorn) for an ASGI app.
"""

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import core
from benchmarks.callgrind import measure
from benchmarks.core import Case, Results, Target
from benchmarks.environments import WORK, core_environment
from benchmarks.load import load_test

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def run_cases(python: Path, cases: list[Case], jobs: int) -> Results:
    """Measure every case (``jobs`` at a time: instruction counts do not depend on the machine's load)."""
    WORK.mkdir(parents=True, exist_ok=True)

    def one(case: Case) -> tuple[tuple[str, str], float]:
        result = measure(python, case.setup, case.statement, case.iterations, WORK)
        sys.stdout.write(f"{case.scenario:<40} {case.subject:<18} {result.instructions:>16,.0f}\n")
        sys.stdout.flush()
        return (case.scenario, case.subject), result.instructions

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(one, cases))


def human(count: float) -> str:
    """An instruction count with a k/M/G suffix."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= limit:
            return f"{count / limit:.2f} {suffix}"
    return f"{count:.0f}"


def report(results: Results, goals: list[Target]) -> str:
    """RESULTS.md: every figure, then every target with the ratio reached."""
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {datetime.now(timezone.utc):%Y-%m-%d} by `make bench` (`python -m benchmarks run`):",
        "instructions per"
        " operation counted by callgrind (all threads), the empty loop's cost subtracted, PYTHONHASHSEED=0, every",
        "subject measured in the same run with the same interpreter. Lower is better.",
        "",
        "| scenario | subject | instructions per operation |",
        "|---|---|---:|",
    ]
    lines += [f"| {scenario} | {subject} | {human(count)} |" for (scenario, subject), count in results.items()]
    lines += ["", "## Targets", "", "| target | goal | reached | met |", "|---|---:|---:|---|"]
    for goal in goals:
        if goal.numerator in results and goal.denominator in results:
            sign = "≤" if goal.lower else "≥"
            met = "yes" if goal.met(results) else "**no**"
            lines.append(f"| {goal.description} | {sign} {goal.goal:g}x | {goal.ratio(results):.2f}x | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="instruction counts against peers; writes RESULTS.md")
    run.add_argument("-k", dest="only", default="", help="only scenarios whose name contains this")
    run.add_argument("-j", dest="jobs", type=int, default=2, help="measurements run at once")
    run.add_argument("--no-rebuild", action="store_true", help="reuse the installed flama-core wheel")
    load = commands.add_parser("load", help="requests per second with wrk against uvicorn on loopback")
    load.add_argument("app", help="module:attribute of the ASGI app")
    load.add_argument("path", nargs="?", default="/")
    load.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args(argv)

    if args.command == "load":
        rate = load_test(args.app, args.path, seconds=args.seconds)
        sys.stdout.write(f"{args.app} {args.path}: {rate:,.0f} requests/s\n")
        return 0
    cases_of, targets_of = core.SUITE
    cases = [case for case in cases_of() if args.only in case.scenario]
    python = core_environment(rebuild=not args.no_rebuild)
    results = run_cases(python, cases, args.jobs)
    text = report(results, targets_of())
    if not args.only:
        RESULTS.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
