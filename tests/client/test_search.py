"""search_runs (list and pandas) and iter_runs paging, on both transports."""

from __future__ import annotations

from clew import Client, Run, ViewType
from tests.conftest import need


def _runs(client: Client, n: int) -> tuple[str, list[str]]:
    exp = client.create_experiment("search")
    ids = []
    for i in range(n):
        run = client.create_run(exp, run_name=f"r{i}")
        client.log_batch(
            run.run_id, params={"i": str(i)}, tags={"parity": "odd" if i % 2 else "even"}
        )
        client.log_metric(run.run_id, "score", float(i))
        ids.append(run.run_id)
    return exp, ids


def test_search_list_filters_and_orders(client: Client) -> None:
    exp, ids = _runs(client, 5)
    page = client.search_runs(
        [exp], "metrics.score >= 2 and tags.parity = 'even'", order_by=["metrics.score DESC"]
    )
    assert [r.run_id for r in page] == [ids[4], ids[2]]
    assert all(isinstance(r, Run) for r in page)


def test_search_excludes_deleted_unless_asked(client: Client) -> None:
    exp, ids = _runs(client, 2)
    client.delete_run(ids[0])
    assert [r.run_id for r in client.search_runs([exp])] == [ids[1]]
    deleted = client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)
    assert [r.run_id for r in deleted] == [ids[0]]


def test_search_pandas_has_mlflow_columns(client: Client) -> None:
    pd = need("pandas")
    exp, ids = _runs(client, 3)
    df = client.search_runs([exp], order_by=["params.i ASC"], output="pandas")
    assert list(df["run_id"]) == ids
    for col in (
        "run_id",
        "experiment_id",
        "status",
        "start_time",
        "end_time",
        "metrics.score",
        "params.i",
        "tags.parity",
    ):
        assert col in df.columns
    assert list(df["metrics.score"]) == [0.0, 1.0, 2.0]
    assert str(df["start_time"].dtype).startswith("datetime64")
    assert df["end_time"].isna().all()
    assert df.attrs["next_page_token"] is None
    assert isinstance(df, pd.DataFrame)


def test_search_pandas_empty(client: Client) -> None:
    need("pandas")
    exp = client.create_experiment("empty")
    df = client.search_runs([exp], output="pandas")
    assert len(df) == 0
    assert "run_id" in df.columns


def test_iter_runs_walks_every_page(client: Client) -> None:
    exp, ids = _runs(client, 7)
    walked = [r.run_id for r in client.iter_runs([exp], order_by=["params.i ASC"], page_size=3)]
    assert walked == ids
    first = client.search_runs([exp], max_results=3, order_by=["params.i ASC"])
    assert first.next_page_token
