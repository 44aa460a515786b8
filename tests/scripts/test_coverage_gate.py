"""scripts/coverage-gate: the figures it reads from each tool's report, and the exit status of its gate."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "scripts" / "coverage-gate"
CRATE = ROOT / "crates" / "flama-core"
PURE = "flama-core (Rust, pure modules)"
WHOLE = "flama-core (Rust, whole crate)"


def counts(count: int, covered: int) -> dict[str, float]:
    return {"count": count, "covered": covered, "percent": 100 * covered / count if count else 0.0}


def rust_file(
    path: Path, lines: tuple[int, int], regions: tuple[int, int], branches: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    """One file of cargo llvm-cov's `--json --summary-only` export (no branch at all without `--branch`)."""
    return {
        "filename": str(path),
        "summary": {
            "lines": counts(*lines),
            "regions": counts(*regions),
            "functions": counts(1, 1),
            "branches": counts(*branches),
        },
    }


def rust_report(*files: dict[str, Any]) -> dict[str, Any]:
    return {"type": "llvm.coverage.json.export", "version": "3.1.0", "data": [{"files": list(files), "totals": {}}]}


def crate_report(routing_lines: int) -> dict[str, Any]:
    """A crate of 200 lines: routing.rs (100 lines, ``routing_lines`` covered) and a binding file (100, 50)."""
    return rust_report(
        rust_file(CRATE / "src" / "routing.rs", (100, routing_lines), (200, 2 * routing_lines), (10, 8)),
        rust_file(CRATE / "src" / "py" / "routing.rs", (100, 50), (100, 40), (10, 5)),
        # A dependency's source, should the report include one: never counted.
        rust_file(Path("/root/.cargo/registry/src/memchr/lib.rs"), (1000, 0), (1000, 0)),
    )


def gate(*args: str | Path, baseline: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(GATE), *map(str, args), "--baseline", str(baseline)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def dump(name: str, content: object) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(content))
        return path

    return dump


def test_rust_figures_split_the_bindings_from_the_pure_modules(tmp_path: Path, write: Any) -> None:
    baseline = tmp_path / "baseline.json"
    result = gate(write("rust.json", crate_report(90)), "--record", baseline=baseline)
    assert result.returncode == 0, result.stderr
    assert json.loads(baseline.read_text()) == {
        PURE: {"lines": 90.0, "branches": 80.0, "regions": 90.0},
        WHOLE: {"lines": 70.0, "branches": 65.0, "regions": 73.3},  # (90 + 50) / 200 lines, (180 + 40) / 300 regions
    }
    assert f"| {PURE} | 90.0 % | 80.0 % | 90.0 % |" in result.stdout


def test_gate_fails_when_a_rust_figure_falls(tmp_path: Path, write: Any) -> None:
    baseline = write(
        "baseline.json", {PURE: {"lines": 90.0, "branches": 80.0}, WHOLE: {"lines": 70.0, "regions": 73.3}}
    )
    within_tolerance = gate(write("same.json", crate_report(90)), baseline=baseline)
    assert within_tolerance.returncode == 0, within_tolerance.stderr

    fallen = gate(write("fallen.json", crate_report(88)), baseline=baseline)
    assert fallen.returncode == 1
    assert f"coverage fell: {PURE} lines: 88.0 % < 90.0 % recorded" in fallen.stderr
    assert f"coverage fell: {WHOLE} lines: 69.0 % < 70.0 % recorded" in fallen.stderr
    assert json.loads(baseline.read_text())[PURE]["lines"] == 90.0  # the gate never lowers the bar itself


def test_gate_fails_when_a_recorded_kind_is_no_longer_measured(write: Any) -> None:
    without_branches = rust_report(rust_file(CRATE / "src" / "routing.rs", (100, 95), (100, 95)))
    baseline = write("baseline.json", {PURE: {"lines": 95.0, "branches": 90.0}})
    result = gate(write("rust.json", without_branches), baseline=baseline)
    assert result.returncode == 1
    assert f"coverage fell: {PURE} branches: not measured, 90.0 % recorded" in result.stderr


def test_a_build_without_the_bindings_measures_only_the_pure_modules(tmp_path: Path, write: Any) -> None:
    pure_only = rust_report(rust_file(CRATE / "src" / "routing.rs", (100, 95), (100, 95)))
    baseline = write("baseline.json", {WHOLE: {"lines": 99.0, "regions": 99.0}})
    result = gate(write("rust.json", pure_only), baseline=baseline)
    assert result.returncode == 0, result.stderr
    assert WHOLE not in result.stdout


def test_a_report_that_measured_nothing_fails(tmp_path: Path, write: Any) -> None:
    result = gate(write("empty.json", rust_report()), baseline=tmp_path / "baseline.json")
    assert result.returncode == 1
    assert "no distribution's file in the report" in result.stderr


def test_recording_one_tool_keeps_the_other_tools_figures(tmp_path: Path, write: Any) -> None:
    python_report = {
        "files": {
            "packages/flama-http/src/flama/http/app.py": {
                "summary": {"num_statements": 10, "covered_lines": 9, "num_branches": 4, "covered_branches": 2}
            }
        }
    }
    baseline = tmp_path / "baseline.json"
    assert gate(write("python.json", python_report), "--record", baseline=baseline).returncode == 0
    assert gate(write("rust.json", crate_report(90)), "--record", baseline=baseline).returncode == 0
    recorded = json.loads(baseline.read_text())
    assert recorded["flama-http"] == {"lines": 90.0, "branches": 50.0}
    assert PURE in recorded

    table = gate("--table", baseline=baseline)
    assert table.stdout.splitlines()[2] == "| flama-http | 90.0 % | 50.0 % | n/a |"


def test_the_committed_baseline_gates_the_rust_crate() -> None:
    recorded = json.loads((ROOT / "scripts" / "coverage-baseline.json").read_text())
    assert set(recorded[PURE]) == set(recorded[WHOLE]) == {"lines", "branches", "regions"}
