"""Built-in steps: a quality gate and model registration.

``quality_gate`` passes its metrics on when they clear fixed thresholds and, optionally, the
registered model's current ``champion``; otherwise it stops the branch: the gate step ends
SKIPPED with the reason (which metric, its value, the bar), everything that reads its output is
skipped, and the pipeline still succeeds, since a model that is not good enough is an outcome,
not an error. ``register_model`` logs a model from its step's run and registers it (optionally
moving an alias), so the version links to the step run, and is tagged ``clew.pipeline.run`` with
the pipeline run; a rerun with the same model and metrics is cached: the same version.

::

    checked = quality_gate(metrics, thresholds={"accuracy": ">= 0.9"},
                           model_name="churn", against="champion")
    register_model(model, checked, name="churn", alias="challenger")
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from clew.core.errors import InvalidInput, NotFound
from clew.pipelines.dsl import step
from clew.pipelines.state import StopBranch

__all__ = ["StopBranch", "quality_gate", "register_model", "request_promotion"]

_BAR: Final = re.compile(r"\s*(>=|<=|>|<|==)\s*(\S+)\s*")
_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


def _bars(thresholds: Mapping[str, str | float]) -> dict[str, tuple[str, float]]:
    bars = {}
    for key, bar in thresholds.items():
        if isinstance(bar, int | float) and not isinstance(bar, bool):
            bars[key] = (">=", float(bar))
            continue
        match = _BAR.fullmatch(str(bar))
        if match is None:
            raise InvalidInput(f"threshold for {key!r} is {bar!r}: write it as '>= 0.9'")
        try:
            bars[key] = (match.group(1), float(match.group(2)))
        except ValueError:
            raise InvalidInput(f"threshold for {key!r} is {bar!r}: not a number") from None
    return bars


def _champion_metrics(model_name: str, alias: str) -> dict[str, float] | None:
    from clew.client import session as sessions

    client = sessions.current().client
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except NotFound:
        return None
    if not version.run_id:
        return None
    return {k: m.value for k, m in client.get_run(version.run_id).data.metrics.items()}


@step(cache=False)
def quality_gate(
    metrics: dict[str, float],
    thresholds: dict[str, Any] | None = None,
    model_name: str | None = None,
    against: str | None = None,
    lower_is_better: list[str] | None = None,
) -> dict[str, float]:
    """Pass ``metrics`` on if each threshold holds (``{"accuracy": ">= 0.9"}``, a bare number
    meaning ``>=``) and, with ``model_name`` and ``against`` (an alias), if each metric the
    current holder of that alias has is at least as good (``lower_is_better`` names metrics
    like a loss). Else stop the branch, saying why. Never cached: the champion may move."""
    lower = set(lower_is_better or ())
    for key, (op, bar) in _bars(thresholds or {}).items():
        value = metrics.get(key)
        if value is None or math.isnan(value):
            raise StopBranch(f"gate: metric {key!r} is missing")
        if not _OPS[op](value, bar):
            raise StopBranch(f"gate: {key} = {value:g}, needs {op} {bar:g}")
    if model_name and against:
        champion = _champion_metrics(model_name, against)
        for key, best in sorted((champion or {}).items()):
            if key not in metrics:
                continue
            worse = metrics[key] > best if key in lower else metrics[key] < best
            if worse:
                raise StopBranch(
                    f"gate: {key} = {metrics[key]:g} is worse than {model_name}@{against}'s {best:g}"
                )
    return dict(metrics)


@step  # cached: the same model bytes, metrics, name and alias are the version made then
def register_model(
    model: Any,
    metrics: dict[str, float] | None = None,
    name: str = "",
    alias: str | None = None,
) -> int:
    """Log ``model`` from this step's run, register it as the next version of ``name`` and,
    with ``alias``, point the alias at it; returns the version. ``metrics`` (a gate's output)
    are logged on the step's run, so the version's run carries what it was judged on.

    A rerun with the same model (its content digest), metrics, name and alias is a cache hit
    that returns the version registered then: no identical second version, and the alias is
    not moved again. ``--no-cache`` (or ``register_model.options(cache=False)``) registers anew.
    """
    import clew

    if not name:
        raise InvalidInput("register_model needs the registered model's name")
    if metrics:
        clew.log_metrics(dict(metrics))
    from clew.client import session as sessions

    info = clew.log_model(model, "model", registered_model_name=name)
    version = int(info.registered_model_version or 0)
    client = sessions.current().client
    active = clew.active_run()
    if active is not None:  # the version names its pipeline run, not only its step run
        pipeline_run = client.get_run(active.run_id).data.tags.get("clew.pipeline.run")
        if pipeline_run:
            client.set_model_version_tag(name, version, "clew.pipeline.run", pipeline_run)
    if alias:
        clew.set_model_alias(name, alias, version)
    return version


@step(cache=False)  # a request is a decision of people, asked anew each run
def request_promotion(
    version: int,
    name: str = "",
    alias: str = "champion",
    justification: str = "",
    timeout_s: float = 86_400.0,
    poll_s: float = 5.0,
    apply: bool = False,
) -> str:
    """Human in the loop: open a promotion request for ``version`` of ``name`` to the
    protected ``alias`` and wait for its decision. Approved, it returns the request's id (and,
    with ``apply``, applies it, which needs a maintainer's role); rejected, canceled, expired
    or undecided after ``timeout_s``, it stops the branch with the reason."""
    import time

    from clew.client import session as sessions

    if not name:
        raise InvalidInput("request_promotion needs the registered model's name")
    client = sessions.current().client
    why = justification or f"version {version}, from a pipeline run"
    request = client.request_promotion(name, version, alias=alias, justification=why)
    deadline = time.monotonic() + timeout_s
    while request["state"] == "PENDING":
        if time.monotonic() >= deadline:
            raise StopBranch(f"promotion request {request['id']} undecided after {timeout_s:g} s")
        time.sleep(poll_s)
        request = client.get_promotion(request["id"])
    if request["state"] != "APPROVED":
        raise StopBranch(f"promotion request {request['id']} was {request['state']}")
    if apply:
        client.apply_promotion(request["id"])
    return str(request["id"])
