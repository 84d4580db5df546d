"""Three small fitted models (template, expression, latency) on 40 bundled rows, no bootstrap: what the model-file
tests save and reload; and :func:`save_edited`, a saved model file changed by hand as a user might."""

import json
import warnings

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


def small_models() -> dict:
    """``{"template": ..., "expression": ..., "latency": ...}``, each fitted on the first 40 bundled rows."""
    data = mlenergy_v2().head(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = EnergyModel(bootstrap=0).fit(data)
        return {"template": template,
                "expression": EnergyModel.from_expression("0.01*output_tokens + 3.0", bootstrap=0).fit(data),
                "latency": template.latency_model}


def save_edited(model, path, edit) -> None:
    """Save ``model`` at ``path``, then rewrite the file with its JSON document changed in place by ``edit(doc)``."""
    model.save(path)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
