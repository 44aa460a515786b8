"""Entry point of the ``flama`` command."""

import argparse
import importlib
import sys
from collections.abc import Sequence

PORTIONS = ("core", "http", "middleware", "models", "llm", "mcp", "cli", "chat_ui")


def installed_versions() -> dict[str, str]:
    """Return the version of every installed portion of the ``flama`` namespace."""
    versions: dict[str, str] = {}
    for portion in PORTIONS:
        try:
            module = importlib.import_module(f"flama.{portion}")
        except ImportError:
            continue
        versions[f"flama.{portion}"] = str(getattr(module, "__version__", "unknown"))
    return versions


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flama`` command and return its exit status."""
    parser = argparse.ArgumentParser(prog="flama", description="Serve models as production APIs.")
    parser.add_argument("--version", action="store_true", help="print the version of each installed portion")
    args = parser.parse_args(argv)
    if args.version:
        for name, version in installed_versions().items():
            sys.stdout.write(f"{name} {version}\n")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
