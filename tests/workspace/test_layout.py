"""The workspace has the shape ../shared/ARCHITECTURE.md describes."""

import importlib
import re
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]

DISTRIBUTIONS = {
    "flama-core": ("crates/flama-core", "python", "core"),
    "flama-http": ("packages/flama-http", "src", "http"),
    "flama-middleware": ("packages/flama-middleware", "src", "middleware"),
    "flama-models": ("packages/flama-models", "src", "models"),
    "flama-llm": ("packages/flama-llm", "src", "llm"),
    "flama-mcp": ("packages/flama-mcp", "src", "mcp"),
    "flama-cli": ("packages/flama-cli", "src", "cli"),
    "flama-chat-ui": ("packages/flama-chat-ui", "src", "chat_ui"),
    "flama": ("packages/flama", "src", ""),
}

# Sibling dependencies allowed by the architecture's dependency direction.
ALLOWED_SIBLINGS = {
    "flama-core": set(),
    "flama-http": {"flama-core"},
    "flama-middleware": {"flama-http"},
    "flama-mcp": {"flama-core", "flama-http"},  # JSON encoding straight from the core on the hot path
    "flama-models": {"flama-http"},
    "flama-llm": {"flama-models", "flama-http", "flama-middleware"},  # per-model API keys (flama.middleware.keys)
    "flama-chat-ui": set(),
    "flama-cli": {"flama-http", "flama-middleware", "flama-models", "flama-llm", "flama-mcp", "flama-chat-ui"},
    "flama": set(DISTRIBUTIONS) - {"flama"},
}


def pyproject(dist: str) -> dict[str, object]:
    path = ROOT / DISTRIBUTIONS[dist][0] / "pyproject.toml"
    return tomllib.loads(path.read_text())


def sibling_requirements(dist: str) -> dict[str, str]:
    project = pyproject(dist)["project"]
    assert isinstance(project, dict)
    found = {}
    for requirement in project.get("dependencies", []):
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement)
        assert match, requirement
        name, spec = match.groups()
        if name in DISTRIBUTIONS:
            found[name] = spec
    return found


class TestCaseDistributions:
    @pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
    def test_files(self, dist: str) -> None:
        folder, source, portion = DISTRIBUTIONS[dist]
        base = ROOT / folder
        for name in ("pyproject.toml", "README.md", "CHANGELOG.md"):
            assert (base / name).is_file(), f"{dist} lacks {name}"
        package = base / source / "flama" / portion
        assert (package / "py.typed").is_file()
        assert (package / "__init__.py").is_file()
        if portion:
            assert not (base / source / "flama" / "__init__.py").exists(), f"{dist} would hide the other portions"

    @pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
    def test_python_range(self, dist: str) -> None:
        project = pyproject(dist)["project"]
        assert isinstance(project, dict)
        assert project["requires-python"] == ">=3.10,<3.15"
        # The classifiers name the versions CI tests: the main one (`make test`) and `make test-matrix`'s.
        tested = {f"Programming Language :: Python :: 3.{minor}" for minor in (10, 11, 12, 13)}
        declared = {c for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3.")}
        assert declared == tested
        matrix = (ROOT / "scripts" / "test-matrix").read_text(encoding="utf-8")
        assert "${PYTHONS:-3.10 3.12 3.13 3.14}" in matrix

    @pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
    def test_sibling_dependencies_follow_the_architecture(self, dist: str) -> None:
        siblings = sibling_requirements(dist)
        assert set(siblings) <= ALLOWED_SIBLINGS[dist]
        for spec in siblings.values():
            if dist == "flama":
                assert spec.startswith("=="), "the metapackage pins the tested set exactly"
            else:
                assert spec.startswith(">="), "siblings depend on compatible ranges"
                assert ",<" in spec, "siblings depend on compatible ranges"

    def test_metapackage_pins_every_distribution_at_its_version(self) -> None:
        pins = sibling_requirements("flama")
        assert set(pins) == set(DISTRIBUTIONS) - {"flama"}
        for dist, spec in pins.items():
            project = pyproject(dist)["project"]
            assert isinstance(project, dict)
            assert spec == f"=={project['version']}"

    def test_no_dependency_cycles(self) -> None:
        graph = {dist: set(sibling_requirements(dist)) for dist in DISTRIBUTIONS}
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(node: str) -> None:
            assert node not in visiting, f"dependency cycle through {node}"
            if node in done:
                return
            visiting.add(node)
            for child in graph[node]:
                visit(child)
            visiting.remove(node)
            done.add(node)

        for dist in graph:
            visit(dist)

    def test_workspace_lists_every_member(self) -> None:
        root = tomllib.loads((ROOT / "pyproject.toml").read_text())
        sources = root["tool"]["uv"]["sources"]
        assert set(sources) == set(DISTRIBUTIONS)
        assert all(source == {"workspace": True} for source in sources.values())


class TestCaseEditableWorkspace:
    @pytest.mark.parametrize("dist", [d for d, (_, _, portion) in DISTRIBUTIONS.items() if portion])
    def test_portion_imports_from_its_source_tree(self, dist: str) -> None:
        folder, source, portion = DISTRIBUTIONS[dist]
        module = importlib.import_module(f"flama.{portion}")
        assert module.__file__ is not None
        assert Path(module.__file__).is_relative_to(ROOT / folder / source)

    def test_metapackage_extends_the_namespace(self) -> None:
        flama = importlib.import_module("flama")
        assert flama.__file__ is not None
        assert Path(flama.__file__).is_relative_to(ROOT / "packages/flama/src")
        assert len(flama.__path__) == len(DISTRIBUTIONS)


class TestCaseShortAPI:
    def test_short_names_come_from_their_portions_on_first_use(self):
        import flama
        import flama.http
        import flama.models

        assert flama.Flama is flama.http.Flama
        assert flama.run is flama.http.run
        assert flama.dump is flama.models.dump
        assert flama.load is flama.models.load
        assert set(flama.__all__) == {
            "Flama", "Module", "Mount", "Request", "Route", "Router", "__version__", "dump", "load", "run"
        }  # fmt: skip

    def test_unknown_name(self):
        import flama

        with pytest.raises(AttributeError, match=r"^module 'flama' has no attribute 'nothing'$"):
            flama.nothing  # noqa: B018
