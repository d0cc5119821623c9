"""``search_runs`` through the real ``mlflow`` client (3.x and 2.x): MLflow's filter grammar
(``metrics.``, ``params.``, ``tags.``, ``attributes.`` comparisons, ``LIKE``, ``IN``),
``order_by``, and paging past 1,000 runs both through ``MlflowClient.search_runs`` tokens and
``mlflow.search_runs``. One script per test; the assertions are here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.mlflow_compat.scripts import PRELUDE, unique

pytestmark = pytest.mark.server

FILTERS = (
    PRELUDE
    + """
from mlflow.entities import Metric, Param, RunTag
exp_id = c.create_experiment(sys.argv[1])
ids = {}
rows = [("a", 0.9, "0.1", "ml-core", "FINISHED"), ("b", 0.7, "0.1", "ml-edge", "FINISHED"),
        ("c", 0.5, "0.2", "data", "FAILED"), ("d", 0.3, "0.2", "ml-core", "RUNNING")]
for i, (name, acc, lr, team, status) in enumerate(rows):
    run = c.create_run(exp_id, run_name=name, start_time=1_000 + i)
    c.log_batch(run.info.run_id, metrics=[Metric("acc", acc - 0.5, 1, 0), Metric("acc", acc, 2, 1)],
                params=[Param("lr", lr)], tags=[RunTag("team", team)])
    if status != "RUNNING":
        c.set_terminated(run.info.run_id, status)
    ids[name] = run.info.run_id
names = {v: k for k, v in ids.items()}
def find(f="", order=None, **kw):
    return [names[r.info.run_id] for r in c.search_runs([exp_id], f, order_by=order, **kw)]
out = {
    "metric": sorted(find("metrics.acc > 0.6")),  # the latest point (step 1), not the first
    "metric_le": sorted(find("metrics.acc <= 0.5")),
    "param": sorted(find("params.lr = '0.1'")),
    "param_ne": sorted(find("params.lr != '0.1'")),
    "tag_like": sorted(find("tags.team LIKE 'ml-%'")),
    "tag_ilike": sorted(find("tags.team ILIKE 'ML-C%'")),
    "status": sorted(find("attributes.status = 'FINISHED'")),
    "run_name": find("attributes.run_name = 'c'"),
    "run_id_in": sorted(find(f"attributes.run_id IN ('{ids['a']}', '{ids['d']}')")),
    "and": find("metrics.acc > 0.4 and params.lr = '0.2' and tags.team = 'data'"),
    "start_time": sorted(find("attributes.start_time >= 1002")),
    "order_metric": find(order=["metrics.acc DESC"]),
    "order_param": find(order=["params.lr ASC", "attributes.start_time DESC"]),
    "order_name": find(order=["attributes.run_name DESC"]),
    "default_order": find(),
    "page": [find(max_results=3), len(c.search_runs([exp_id], max_results=3).token or "") > 0],
    "bad_filter": code(c.search_runs, [exp_id], "metrics.acc >"),
    "pandas": sorted(mlflow.search_runs([exp_id], filter_string="params.lr = '0.1'")["tags.mlflow.runName"]),
}
print(json.dumps(out))
"""
)


def test_search_runs_filters_and_order(mlflow_client: Any) -> None:
    out = mlflow_client(FILTERS, unique("search"))
    assert out["metric"] == ["a", "b"]
    assert out["metric_le"] == ["c", "d"]
    assert out["param"] == ["a", "b"] and out["param_ne"] == ["c", "d"]
    assert out["tag_like"] == ["a", "b", "d"]
    assert out["tag_ilike"] == ["a", "d"]
    assert out["status"] == ["a", "b"]
    assert out["run_name"] == ["c"]
    assert out["run_id_in"] == ["a", "d"]
    assert out["and"] == ["c"]
    assert out["start_time"] == ["c", "d"]
    assert out["order_metric"] == ["a", "b", "c", "d"]
    assert out["order_param"] == ["b", "a", "d", "c"]
    assert out["order_name"] == ["d", "c", "b", "a"]
    assert out["default_order"] == ["d", "c", "b", "a"]  # newest start_time first
    assert out["page"] == [["d", "c", "b"], True]
    assert out["bad_filter"] == "INVALID_PARAMETER_VALUE"
    assert out["pandas"] == ["a", "b"]


#: Runs beyond one default page (1,000), made concurrently to keep the script short.
MANY = 1_100

PAGING = (
    PRELUDE
    + """
from concurrent.futures import ThreadPoolExecutor
from mlflow.entities import Metric, Param
exp_id, count = c.create_experiment(sys.argv[1]), int(sys.argv[2])
def make(i):
    run = c.create_run(exp_id, start_time=10_000 + i)
    c.log_batch(run.info.run_id, metrics=[Metric("i", float(i), 1, 0)], params=[Param("odd", str(i % 2))])
    return run.info.run_id
with ThreadPoolExecutor(8) as pool:
    made = set(pool.map(make, range(count)))
seen, pages, token = [], 0, None
while True:
    page = c.search_runs([exp_id], max_results=1000, page_token=token)
    seen += [r.info.run_id for r in page]
    pages += 1
    token = page.token
    if not token:
        break
odd, token = [], None
while True:
    page = c.search_runs([exp_id], "params.odd = '1'", order_by=["metrics.i ASC"], max_results=200, page_token=token)
    odd += [int(r.data.metrics["i"]) for r in page]
    token = page.token
    if not token:
        break
frame = mlflow.search_runs([exp_id])  # pages through the server's pages on its own
print(json.dumps({
    "made": len(made), "seen": len(seen), "distinct": len(set(seen)), "pages": pages,
    "all_made": set(seen) == made, "odd": odd, "frame": len(frame),
    "frame_distinct": frame["run_id"].nunique(),
}))
"""
)


def test_search_runs_pages_past_a_thousand(mlflow_client: Any) -> None:
    out = mlflow_client(PAGING, unique("paging"), str(MANY))
    assert out["made"] == out["seen"] == out["distinct"] == MANY
    assert out["all_made"] is True
    assert out["pages"] == 2
    assert out["odd"] == list(range(1, MANY, 2))
    assert out["frame"] == out["frame_distinct"] == MANY
