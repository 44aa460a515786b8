"""Readiness at ``GET /health``: what each part of the application reports, in one answer.

Every application has a :class:`HealthModule` (``app.health``; registered through the ``flama.modules`` entry
points). Parts of the application register probes in groups: ``app.models`` reports each model (``loading``,
``ready`` or ``failed``), and anything else may add its own (``app.health.add("mcp", "tools", probe)``). The answer
is 200 once every probe is ``ready`` (an application with none is ready), 503 otherwise::

    {"status": "ok" | "loading" | "failed", "<group>": {"<name>": "loading" | "ready" | "failed", ...}, ...}

``failed`` wins over ``loading``. Build the application with ``Flama(modules=[HealthModule(path=None)])`` to not
serve it.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from flama.http.modules import Module
from flama.http.responses import JSONResponse

if TYPE_CHECKING:
    from flama.http.applications import Flama

__all__ = ["HealthModule", "Probe", "State"]

State = Literal["loading", "ready", "failed"]
Probe = Callable[[], State]


class HealthModule(Module):
    """The probes of an application and the ``/health`` endpoint reporting them.

    Args:
        path: Where readiness is served; ``None`` to not serve it.
    """

    name = "health"

    def __init__(self, path: str | None = "/health") -> None:
        self.path = path
        self.probes: dict[str, dict[str, Probe]] = {}

    def bind(self, app: "Flama") -> None:
        """Add the readiness route."""
        super().bind(app)
        if self.path is not None:
            app.add_route(self.path, self.endpoint, methods=["GET"], name="health", include_in_schema=False)

    def add(self, group: str, name: str, probe: Probe) -> None:
        """Report ``probe()`` as the state of ``name`` in ``group``.

        Raises:
            ValueError: ``group`` is ``status`` (the answer's own field).
        """
        if group == "status":
            raise ValueError("'status' is the answer's own field; name the group otherwise")
        self.probes.setdefault(group, {})[name] = probe

    def report(self) -> tuple[int, dict[str, Any]]:
        """The status code and body of ``/health``."""
        groups = {group: {name: probe() for name, probe in probes.items()} for group, probes in self.probes.items()}
        states = {state for group in groups.values() for state in group.values()}
        status = "failed" if "failed" in states else "loading" if "loading" in states else "ok"
        return (200 if status == "ok" else 503), {"status": status, **groups}

    async def endpoint(self) -> JSONResponse:
        """Whether every part of the application is ready.

        503 while something loads or after something failed (with each part's state), 200 once all are ready.
        """
        status_code, body = self.report()
        return JSONResponse(body, status_code=status_code)
