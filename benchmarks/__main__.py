"""Benchmark runner: instruction counts against peers, and a loopback load test.

``python -m benchmarks run [--suite core|http|all] [-k SUBSTRING]`` measures and writes benchmarks/RESULTS.md.
``python -m benchmarks native`` measures LLM streaming through the native dialect (see benchmarks/llm_native.py).
``python -m benchmarks soak`` measures server memory under LLM streams and a predictive burst (benchmarks/soak.py).
``python -m benchmarks load --suite http`` runs the loopback load test (wrk against uvicorn) for every HTTP subject and
writes its table to RESULTS.md too; ``python -m benchmarks load APP PATH`` load-tests one ASGI app.
"""

import argparse
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import core, http, llm_decoder, mcp_serving, models, models_serving
from benchmarks.callgrind import measure
from benchmarks.core import Case, Results, Suite, Target
from benchmarks.environments import WORK, core_environment, flama2_environment, http_environment
from benchmarks.load import load_test

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SUITES: dict[str, Suite] = {
    "core": core.SUITE,
    "http": http.SUITE,
    "decoder": llm_decoder.SUITE,
    "serving": models_serving.SUITE,
    "mcp": mcp_serving.SUITE,
}
TITLES = {
    "core": "flama-core: instructions per operation",
    "http": "flama-http: instructions per request through the ASGI callable",
    "serving": "flama-models: instructions per prediction request beyond the model's own work",
    "load": "flama-http: requests per second under uvicorn",
    "mcp": "flama-mcp: instructions per MCP request through the ASGI callable",
    "mcp_load": "flama-mcp: MCP requests per second under uvicorn",
    "decoder": "flama-llm: instructions to decode a 1 MB transcript",
    "models": "flama-models: dump and load, wall time and peak memory",
    "native": "flama-llm: the native dialect on the demo model",
    "dialects": "flama-llm: the OpenAI, Anthropic and Ollama dialects beside the native one",
    "llm": "flama-llm: tokens per second, our async stream beside each library's own loop",
    "soak": "Soak: server memory under sustained LLM streams and a predictive burst",
    "batching": "flama-llm: many users at once (continuous batching, prefix caching, freed slots)",
    "long_prompt": "flama-llm: one long prompt among running streams",
    "json_offload": "flama-core: the event loop while a large JSON body decodes in a worker thread",
    "encoding": "flama-llm: encoding a conversation's next turn",
    "cold": "flama serve: cold start of the demo model",
}
SECTION = re.compile(r"<!-- section: (\w+) -->\n(.*?)<!-- end: \1 -->\n", re.DOTALL)


def run_cases(pythons: dict[str, Path], cases: list[Case], jobs: int) -> Results:
    """Measure every case (``jobs`` at a time: instruction counts do not depend on the machine's load)."""
    WORK.mkdir(parents=True, exist_ok=True)

    def one(case: Case) -> tuple[tuple[str, str], float]:
        python = pythons[case.environment]
        result = measure(python, case.setup, case.statement, case.iterations, WORK, case.baseline)
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
    """One suite's section: every figure, then every target with what was reached."""
    lines = ["| scenario | subject | instructions per operation |", "|---|---|---:|"]
    lines += [f"| {scenario} | {subject} | {human(count)} |" for (scenario, subject), count in results.items()]
    lines += ["", "| target | goal | reached | met |", "|---|---:|---:|---|"]
    for goal in goals:
        if goal.measured(results):
            sign = "≤" if goal.lower else "≥"
            met = "yes" if goal.met(results) else "**no**"
            ratio = goal.ratio(results)
            wanted, reached = (
                (human(goal.goal), human(ratio)) if goal.denominator is None else (f"{goal.goal:g}x", f"{ratio:.2f}x")
            )
            lines.append(f"| {goal.description} | {sign} {wanted} | {reached} | {met} |")
    return "\n".join(lines) + "\n"


def milliseconds(seconds: Sequence[float], digits: int = 0) -> str:
    """Rounds' times as a table cell: the median, then the range (``12 ms (10 to 15)``)."""
    low, middle, high = (value * 1e3 for value in (min(seconds), statistics.median(seconds), max(seconds)))
    return f"{middle:.{digits}f} ms ({low:.{digits}f} to {high:.{digits}f})"


def write_section(name: str, text: str) -> None:
    """Replace one section of RESULTS.md, keeping the others and the hand-written notes (moved after them all)."""
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    sections = dict(SECTION.findall(previous))
    first = SECTION.search(previous)
    notes = SECTION.sub("", previous[first.start() :]).strip() if first else ""
    sections[name] = f"## {TITLES[name]}\n\n{text}\n"
    lines = [
        "# Benchmark results",
        "",
        "`python -m benchmarks run` (`make bench`): instructions per operation counted by callgrind (all threads,",
        "worker threads included), the empty loop's cost subtracted, PYTHONHASHSEED=0, every subject measured in the",
        "same run with the same interpreter. Lower is better. `python -m benchmarks load --suite http`: requests per",
        "second with wrk on loopback (higher is better; depends on the machine and its load).",
        "",
    ]
    for key in TITLES:
        if key in sections:
            lines.append(f"<!-- section: {key} -->\n{sections[key]}<!-- end: {key} -->")
    if notes:
        lines += ["", notes]
    RESULTS.write_text("\n".join(lines) + "\n")


def run(suites: list[str], only: str, jobs: int, rebuild: bool) -> str:
    """Measure the chosen suites; write their sections when every scenario ran."""
    environments: dict[str, Callable[[], Path]] = {
        "core": lambda: core_environment(rebuild),
        "http": lambda: http_environment(rebuild),
        "flama2": flama2_environment,
        # The decoder is pure Python: the workspace interpreter runs it from the source tree.
        "workspace": lambda: Path(sys.executable),
        "models": lambda: models_serving.models_environment(rebuild),
        "flama2-models": models_serving.flama2_models_environment,
        "mcp": lambda: mcp_serving.mcp_environment(rebuild),
    }
    chosen = {name: [case for case in SUITES[name][0]() if only in case.scenario] for name in suites}
    needed = {case.environment for cases in chosen.values() for case in cases}
    pythons = {name: environments[name]() for name in sorted(needed)}
    text = ""
    for name, cases in chosen.items():
        section = report(run_cases(pythons, cases, jobs), SUITES[name][1]())
        date = f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n"
        if not only:
            write_section(name, date + section)
        text += f"## {TITLES[name]}\n\n{section}\n"
    return text


def load(seconds: int) -> str:
    """Requests per second for every HTTP subject's hello and 200-route apps, beside a bare ASGI app."""
    pythons = {"http": http_environment(rebuild=False), "flama2": flama2_environment()}
    rows = [("bare ASGI app", "benchmarks.apps.raw:app", "/hello", pythons["http"])]
    for subject in http.SUBJECTS:
        module = f"benchmarks.apps.{subject.module}"
        rows.append((f"{subject.label}, hello", f"{module}:app", "/hello", pythons[subject.environment]))
        rows.append(
            (f"{subject.label}, 200 routes, last", f"{module}:routed", "/resource199/42", pythons[subject.environment])
        )
    rates: dict[str, float] = {}
    lines = ["| app | requests/s |", "|---|---:|"]
    for label, app, path, python in rows:
        rates[label] = load_test(app, path, seconds=seconds, python=python)
        sys.stdout.write(f"{label:<40} {rates[label]:>10,.0f} requests/s\n")
        sys.stdout.flush()
        lines.append(f"| {label} | {rates[label]:,.0f} |")
    hello, routed = rates[f"{http.OURS}, hello"], rates[f"{http.OURS}, 200 routes, last"]
    lines += [
        "",
        "| target | goal | reached | met |",
        "|---|---:|---:|---|",
        f"| {http.OURS} hello | ≥ 25,000/s | {hello:,.0f}/s | {'yes' if hello >= 25_000 else '**no**'} |",
        f"| {http.OURS} 200 routes within 5 % of hello | ≥ 0.95x | {routed / hello:.2f}x"
        f" | {'yes' if routed >= 0.95 * hello else '**no**'} |",
    ]
    server = f"uvicorn (uvloop, httptools, 1 worker), wrk -t1 -c64 -d{seconds}s"
    date = f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}: {server}.\n\n"
    section = date + "\n".join(lines) + "\n"
    write_section("load", section)
    return section


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    measure_parser = commands.add_parser("run", help="instruction counts against peers; writes RESULTS.md")
    measure_parser.add_argument("--suite", choices=["core", "http", "decoder", "serving", "mcp", "all"], default="all")
    measure_parser.add_argument("-k", dest="only", default="", help="only scenarios whose name contains this")
    measure_parser.add_argument("-j", dest="jobs", type=int, default=2, help="measurements run at once")
    measure_parser.add_argument("--no-rebuild", action="store_true", help="reuse the installed wheels of this tree")
    load_parser = commands.add_parser("load", help="requests per second with wrk against uvicorn on loopback")
    load_parser.add_argument("--suite", choices=["http", "mcp"], help="every HTTP or MCP subject; writes RESULTS.md")
    load_parser.add_argument("app", nargs="?", help="module:attribute of one ASGI app")
    load_parser.add_argument("path", nargs="?", default="/")
    load_parser.add_argument("--seconds", type=int, default=10)
    models_parser = commands.add_parser("models", help="dump/load time and peak memory; writes RESULTS.md")
    models_parser.add_argument("--megabytes", type=int, default=200, help="size of the bundle")
    native_parser = commands.add_parser("native", help="LLM streaming through the native dialect; writes RESULTS.md")
    native_parser.add_argument("--flm", type=Path, default=None, help="the .flm to serve (the demo model by default)")
    native_parser.add_argument("--backend", default=None, help="force a backend")
    dialects_parser = commands.add_parser("dialects", help="LLM streaming through each vendor dialect; RESULTS.md")
    dialects_parser.add_argument(
        "--flm",
        type=Path,
        default=None,
        help="the one .flm to serve (the demo model and its Flama 2.2.2 copy by default)",
    )
    dialects_parser.add_argument("--backend", default=None, help="force a backend")
    dialects_parser.add_argument("--quick", action="store_true", help="fewer alternated runs per model")
    commands.add_parser("cold", help="flama serve's cold start on the demo model, lean and full; RESULTS.md")
    llm_parser = commands.add_parser("llm", help="backend tokens per second; writes RESULTS.md")
    llm_parser.add_argument("--tokens", type=int, default=256, help="tokens generated per run")
    soak_parser = commands.add_parser("soak", help="memory under 32 LLM streams and a predictive burst; RESULTS.md")
    soak_parser.add_argument("--seconds", type=float, default=None, help="LLM streaming time (SOAK_SECONDS, 600)")
    args = parser.parse_args(argv)

    if args.command == "soak":
        from benchmarks import soak

        section = soak.run(args.seconds)
        write_section("soak", f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n{section}")
        sys.stdout.write(section)
        return 0

    if args.command == "cold":
        from benchmarks import cold_start

        section = f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n" + cold_start.run()
        write_section("cold", section)
        sys.stdout.write(section)
        return 0

    if args.command == "llm":
        from benchmarks import llm_backends

        section = f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n" + llm_backends.run(args.tokens)
        write_section("llm", section)
        sys.stdout.write(section)
        return 0

    if args.command == "native":
        from benchmarks import llm_native

        section = llm_native.run(args.flm or llm_native.DEMO, args.backend)
        write_section("native", f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n{section}")
        sys.stdout.write(section)
        return 0

    if args.command == "dialects":
        from benchmarks import llm_dialects

        section = llm_dialects.run(args.flm, args.backend, args.quick)
        write_section("dialects", f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n{section}")
        sys.stdout.write(section)
        return 0

    if args.command == "models":
        section = f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}.\n\n" + models.run(args.megabytes)
        write_section("models", section)
        sys.stdout.write(section)
        return 0

    if args.command == "load":
        if args.suite == "mcp":
            pythons = {"mcp": mcp_serving.mcp_environment(rebuild=False), "flama2": flama2_environment()}
            WORK.mkdir(parents=True, exist_ok=True)
            section = mcp_serving.load(pythons, args.seconds, WORK)
            write_section(
                "mcp_load",
                f"Recorded {datetime.now(timezone.utc):%Y-%m-%d}: wrk -t1 -c32, {args.seconds} s.\n\n{section}",
            )
            sys.stdout.write(section)
            return 0
        if args.suite:
            sys.stdout.write(load(args.seconds))
            return 0
        if not args.app:
            parser.error("load needs an APP or --suite http")
        rate = load_test(args.app, args.path, seconds=args.seconds)
        sys.stdout.write(f"{args.app} {args.path}: {rate:,.0f} requests/s\n")
        return 0
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    sys.stdout.write(run(suites, args.only, args.jobs, not args.no_rebuild))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
