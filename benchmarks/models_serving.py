"""Predictive model serving (issue 4): the cost of one prediction request beyond the model's own work.

One scikit-learn classifier, dumped once into a ``.flm`` file by Flama 2.2.2, answers one ``POST /fish/predict/``
with one row through flama-models and through Flama 2.2.2, both serving that same file, on the
:class:`benchmarks.asgi.Driver`. Each figure is net of calling ``model.predict`` on the same row directly in the same
process, so what is left is the framework's overhead: routing, body parsing and validation, the hop to a worker
thread, JSON encoding. The direct call is reported once as the reference.
"""

import subprocess
from pathlib import Path

from benchmarks.core import Case, Suite, Target
from benchmarks.environments import FLAMA2, ROOT, SERVER, WORK, environment

OURS = "flama-models"
FLAMA2_LABEL = "Flama 2.2.2"
SKLEARN = "scikit-learn==1.9.1"
SCENARIO = "predict 1 row, overhead beyond model.predict"
DIRECT = "model.predict, 1 row (reference)"
MODEL_FILE = WORK / "serving" / "fish.flm"

# The model both subjects serve, fitted and dumped once per run by Flama 2.2.2 (whose files flama-models reads).
DUMP = """
import sys
import numpy as np
import flama
from sklearn.linear_model import LogisticRegression
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4)
model = LogisticRegression(C=100.0).fit(X, np.array([0, 0, 1, 1] * 4))
flama.dump(model, path=sys.argv[1], family="ml")
"""


def flama2_models_environment() -> Path:
    """A venv with Flama 2.2.2 from PyPI, scikit-learn and the server; it writes the served model file first."""
    python = environment("flama2-models", [*FLAMA2, SKLEARN], [], rebuild=False)
    if not MODEL_FILE.exists():
        MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(python), "-c", DUMP, str(MODEL_FILE)], check=True)
    return python


def models_environment(rebuild: bool = True) -> Path:
    """A venv with this tree's flama-core, flama-http and flama-models, scikit-learn and the server."""
    flama2_models_environment()  # the model file both subjects serve
    return environment("models", [SKLEARN, *SERVER], ["flama-core", "flama-http", "flama-models"], rebuild)


SETUP = """
import sys, asyncio, time
sys.path.insert(0, {root!r})
from benchmarks.asgi import Driver
path = {path!r}
row = [[1.0, 0.0]]
"""

OURS_MODEL = """
from flama.models.modelfile import load
model = load(path, trusted=True).model  # Flama 2.2.2 pickles: an explicit opt-in
"""

OURS_APP = """
from flama.http import Flama
app = Flama(schema=None, docs=None)
resource = app.models.add_model("/fish/", path, "fish", trusted=True)
ready = lambda: resource.ready  # the model loads in the background after startup
"""

FLAMA2_APP = """
import flama
model = flama.load(path=path).model
app = flama.Flama(schema=None, docs=None)
app.models.add_model("/fish/", path, "fish")
ready = lambda: True  # the model loads during startup
"""

DRIVE = """
driver = Driver(app)
driver.prepare("POST", "/fish/predict/", [("content-type", "application/json")], b'{"input": [[1.0, 0.0]]}')
deadline = time.monotonic() + 600  # slow under valgrind
while not ready() and time.monotonic() < deadline:
    driver.loop.run_until_complete(asyncio.sleep(0.05))
status, headers, body = driver.response()
assert status == 200 and body.replace(b" ", b"") == b'{"output":[1]}', (status, body)
for _ in range(3):
    driver.request()
    model.predict(row)
"""


def cases() -> list[Case]:
    """The direct call, then each framework's request net of it."""
    setup = SETUP.format(root=str(ROOT), path=str(MODEL_FILE))
    ours = setup + OURS_MODEL
    return [
        Case(DIRECT, "scikit-learn", ours + "model.predict(row)", "model.predict(row)", 200, "models"),
        Case(SCENARIO, OURS, ours + OURS_APP + DRIVE, "driver.request()", 200, "models", "model.predict(row)"),
        Case(
            SCENARIO,
            FLAMA2_LABEL,
            setup + FLAMA2_APP + DRIVE,
            "driver.request()",
            200,
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
