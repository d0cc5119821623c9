"""The Clew side of the registry benchmark, in Clew's virtualenv through ``clew.Client`` and the
fluent ``clew.*`` API against a ``clew server`` on loopback.

Usage: ``BENCH_TRACKING_URI=http://127.0.0.1:P python registry_clew.py WORKLOAD '<json>'``.
Each workload does the same logical work as its namesake in ``registry_mlflow.py``.
"""

from __future__ import annotations

from typing import Any

import _common as c

import clew
from clew import Client

SOURCE = "s3://bench-bucket/models/model"


def registry_ops(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    samples = []
    for rep in range(p["repeat"]):
        name = f"bench-reg-{rep}"
        client.create_registered_model(name)
        t0 = c.now()
        for _ in range(p["n"]):
            client.create_model_version(name, SOURCE)
        create_s = c.now() - t0
        t0 = c.now()
        for i in range(p["n"]):
            client.set_registered_model_alias(name, "champion", i % p["n"] + 1)
        alias_s = c.now() - t0
        t0 = c.now()
        for _ in range(p["searches"]):
            found = client.search_model_versions(f"name = '{name}'", max_results=100)
        search_s = c.now() - t0
        assert len(found.items) == min(100, p["n"]), len(found.items)
        samples.append(
            {
                "versions_per_s": p["n"] / create_s,
                "alias_moves_per_s": p["n"] / alias_s,
                "searches_per_s": p["searches"] / search_s,
            }
        )
    return {"samples": samples}


def load(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """The first load fills Clew's local model cache; later ones resolve the alias on the
    server and load from the verified cache entry."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    clew.set_tracking_uri(uri)
    clew.set_experiment("bench-load")
    with clew.start_run():
        info = clew.sklearn.log_model(model, name="model", input_example=x[:3])
    version = clew.register_model(info.model_uri, "bench-load")
    clew.set_model_alias("bench-load", "champion", version.version)
    times = []
    for _ in range(p["n"]):
        t0 = c.now()
        loaded = clew.load_model("models:/bench-load@champion")
        loaded.predict(x[:5])
        times.append(c.now() - t0)
    return {"samples": [{"load_s": t} for t in times], "first_s": times[0]}


if __name__ == "__main__":
    c.main({"registry_ops": registry_ops, "load": load})
