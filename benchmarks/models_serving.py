"""Predictive model serving (issue 4): the cost of one prediction request beyond the model's own work.

The same scikit-learn classifier (fitted the same way in each venv) answers one ``POST /fish/predict/`` with one row,
through flama-models and through Flama 2.2.2 (from a ``.flm`` file each wrote itself), on the
:class:`benchmarks.asgi.Driver`. Each figure is net of calling ``model.predict`` on the same row directly in the same
process, so what is left is the framework's overhead: routing, body parsing and validation, the hop to a worker
thread, JSON encoding. The direct call is reported once as the reference.
"""

from pathlib import Path

from benchmarks.core import Case, Suite, Target
from benchmarks.environments import FLAMA2, ROOT, SERVER, environment

OURS = "flama-models"
FLAMA2_LABEL = "Flama 2.2.2"
SKLEARN = "scikit-learn==1.9.1"
SCENARIO = "predict 1 row, overhead beyond model.predict"
DIRECT = "model.predict, 1 row (reference)"


def models_environment(rebuild: bool = True) -> Path:
    """A venv with this tree's flama-core, flama-http and flama-models, scikit-learn and the server."""
    return environment("models", [SKLEARN, *SERVER], ["flama-core", "flama-http", "flama-models"], rebuild)


def flama2_models_environment() -> Path:
    """A venv with Flama 2.2.2 from PyPI, scikit-learn and the server."""
    return environment("flama2-models", [*FLAMA2, SKLEARN], [], rebuild=False)


MODEL = """
import sys, asyncio, tempfile, pathlib
sys.path.insert(0, {root!r})
import numpy as np
from sklearn.linear_model import LogisticRegression
from benchmarks.asgi import Driver
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4)
model = LogisticRegression(C=100.0).fit(X, np.array([0, 0, 1, 1] * 4))
row = [[1.0, 0.0]]
path = pathlib.Path(tempfile.mkdtemp()) / "fish.flm"
"""

OURS_APP = """
from flama.http import Flama
from flama.models.artifact import dump
dump(model, path)
app = Flama(schema=None, docs=None)
app.models.add_model("/fish/", path, "fish")
"""

FLAMA2_APP = """
import flama
flama.dump(model, path)
app = flama.Flama(schema=None, docs=None)
app.models.add_model("/fish/", path, "fish")
"""

DRIVE = """
driver = Driver(app)
driver.prepare("POST", "/fish/predict/", [("content-type", "application/json")], b'{"input": [[1.0, 0.0]]}')
for _ in range(500):  # flama-models loads models in the background after startup
    status, headers, body = driver.response()
    if status == 200:
        break
    driver.loop.run_until_complete(asyncio.sleep(0.01))
assert status == 200 and body.replace(b" ", b"") == b'{"output":[1]}', (status, body)
for _ in range(3):
    driver.request()
    model.predict(row)
"""


def cases() -> list[Case]:
    """The direct call, then each framework's request net of it."""
    model = MODEL.format(root=str(ROOT))
    return [
        Case(DIRECT, "scikit-learn", model + "model.predict(row)", "model.predict(row)", 20, "models"),
        Case(SCENARIO, OURS, model + OURS_APP + DRIVE, "driver.request()", 20, "models", "model.predict(row)"),
        Case(
            SCENARIO,
            FLAMA2_LABEL,
            model + FLAMA2_APP + DRIVE,
            "driver.request()",
            20,
            "flama2-models",
            "model.predict(row)",
        ),
    ]


def targets() -> list[Target]:
    """flama-models' overhead per request at most Flama 2.2.2's."""
    return [
        Target(f"{SCENARIO}, {OURS} vs {FLAMA2_LABEL}", (SCENARIO, OURS), (SCENARIO, FLAMA2_LABEL), 1.0, lower=True)
    ]


SUITE: Suite = (cases, targets)
