"""Write the format-version-1 model files that tests/test_io.py loads.

Run once, with mixtura at commit 717c6d9 (the last one writing version 1, which
stored the estimator's fitted arrays beside the mixture):

    python tests/reference/model_files/make_v1_files.py

It writes ``v1_<name>.mixtura`` and ``v1_expected.json`` (the saved models'
membership probabilities and log densities on the first rows of Old Faithful), so
that a later mixtura proves it still loads version-1 files and predicts as they
did.
"""

import json
from pathlib import Path

import numpy as np

import mixtura
from mixtura import GaussianMixture, PoissonMixture, save

HERE = Path(__file__).parent
FAITHFUL = Path(mixtura.__file__).parent / "datasets" / "data" / "faithful.csv"


def main():
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    counts = np.round(X).astype(np.int64)
    models = {
        "gaussian_full_f64": (GaussianMixture(3, random_state=0), X),
        "gaussian_diag_f32": (
            GaussianMixture(2, covariance_type="diag", random_state=0),
            X.astype(np.float32),
        ),
        "gaussian_noise": (GaussianMixture(2, noise=True, random_state=0), X),
        "poisson": (PoissonMixture(2, random_state=0), counts),
    }
    expected = {}
    for name, (model, data) in models.items():
        model.fit(data)
        save(model, HERE / f"v1_{name}.mixtura")
        rows = data[:20]
        expected[name] = {
            "predict_proba": model.predict_proba(rows).tolist(),
            "score_samples": model.score_samples(rows).tolist(),
        }
    (HERE / "v1_expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
