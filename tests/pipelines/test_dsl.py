"""The DSL traces a pipeline function into a frozen graph, and a wrong one fails at definition."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import pytest

from clew.pipelines import (
    Elif,
    Else,
    Finally,
    If,
    ParallelFor,
    PipelineDefinitionError,
    collect,
    pipeline,
    pipeline_status,
    step,
)
from clew.pipelines import graph as g


class Split(NamedTuple):
    train: list[float]
    test: list[float]


@step
def load(n: int = 10) -> list[float]:
    return [float(i) for i in range(n)]


@step(retries=2, backoff_s=0.5, timeout_s=60, cpu=2, memory="1Gi", cache_expiry_s=3600)
def split(data: list[float], ratio: float = 0.8) -> Split:
    cut = int(len(data) * ratio)
    return Split(data[:cut], data[cut:])


@step
def fit(train: list[float], lr: float = 0.1) -> float:
    return sum(train) * lr


@step
def score(model: float, test: list[float]) -> float:
    return model / (1 + sum(test))


@step
def best(scores: list[float]) -> float:
    return max(scores)


@step
def register(model: float) -> None:
    return None


@step
def notify(message: str) -> None:
    return None


@step
def report(status: str) -> None:
    return None


def test_a_step_outside_a_pipeline_is_its_plain_function() -> None:
    assert split([1.0, 2.0, 3.0, 4.0, 5.0], ratio=0.6) == Split([1.0, 2.0, 3.0], [4.0, 5.0])
    assert fit.ref.endswith("test_dsl:fit") and fit.name == "fit"


def test_tracing_records_tasks_edges_and_options() -> None:
    @pipeline
    def training(n: int = 20, threshold: float = 0.5) -> float:
        """Fit and score."""
        parts = split(load(n))
        model = fit(parts.train)
        return score(model, parts["test"])

    spec = training.spec
    assert spec.name == "training" and spec.description == "Fit and score."
    assert [(p.name, p.type, p.default) for p in spec.params] == [
        ("n", "int", 20),
        ("threshold", "float", 0.5),
    ]
    assert [t.name for t in spec.tasks] == ["load", "split", "fit", "score"]
    assert spec.task("load").inputs == {"n": g.PipelineParam("n")}
    assert spec.task("split").inputs == {"data": g.TaskOutput("load")}
    assert spec.task("split").outputs == ("train", "test")
    assert spec.task("score").inputs == {
        "model": g.TaskOutput("fit"),
        "test": g.TaskOutput("split", "test"),
    }
    assert spec.outputs == {"output": g.TaskOutput("score")}
    options = spec.task("split").options
    assert options.retry == g.Retry(retries=2, backoff_s=0.5)
    assert options.timeout_s == 60 and options.resources == g.Resources(cpu=2, memory=2**30)
    assert options.caching == g.Caching(enabled=True, expiry_s=3600)
    assert spec.order() == ["load", "split", "fit", "score"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.tasks[0].name = "other"  # type: ignore[misc]


def test_a_step_used_twice_gets_a_second_name_and_options_per_call() -> None:
    @pipeline
    def twice() -> None:
        data = load()
        fit(data)
        fit.options(retries=5, name="fit_big")(data, lr=1.0)
        fit(data, lr=0.01)

    names = [t.name for t in twice.spec.tasks]
    assert names == ["load", "fit", "fit_big", "fit-2"]
    assert twice.spec.task("fit_big").options.retry.retries == 5
    assert twice.spec.task("fit-2").inputs["lr"] == g.Constant(0.01)


def test_if_elif_else_give_each_branch_its_whole_condition() -> None:
    @pipeline
    def gated(threshold: float = 0.8) -> None:
        model = fit(load())
        quality = score(model, load())
        with If(quality > threshold):
            register(model)
        with Elif((quality > 0.5) & (quality != 0.7)):
            notify("review")
        with Else():
            notify("rejected")

    spec = gated.spec
    high = g.Compare(g.Op.GT, g.TaskOutput("score"), g.PipelineParam("threshold"))
    middle = g.AllOf(
        (
            g.Compare(g.Op.GT, g.TaskOutput("score"), g.Constant(0.5)),
            g.Compare(g.Op.NE, g.TaskOutput("score"), g.Constant(0.7)),
        )
    )
    assert spec.task("register").when == high
    assert spec.task("notify").when == g.AllOf((g.Not(high), middle))
    assert spec.task("notify-2").when == g.AllOf((g.Not(high), g.Not(middle)))
    assert "score" in spec.task("notify").upstream()


def test_fan_out_and_fan_in() -> None:
    @pipeline
    def sweep(rates: list[float] = [0.1, 0.01]) -> float:  # noqa: B006 - a definition default
        data = load()
        with ParallelFor(rates, parallelism=2) as lr:
            model = fit(data, lr)
            quality = score(model, data)
        return best(collect(quality))

    spec = sweep.spec
    loop = g.Loop("loop-1", g.PipelineParam("rates"), 2)
    assert spec.task("fit").loops == (loop,) and spec.task("score").loops == (loop,)
    assert spec.task("fit").inputs["lr"] == g.LoopItem("loop-1")
    assert spec.task("best").inputs == {"scores": g.Collected("score")}
    assert spec.task("best").loops == ()


def test_finally_steps_run_last_and_read_the_status() -> None:
    @pipeline
    def guarded() -> None:
        fit(load())
        with Finally():
            report(pipeline_status())

    spec = guarded.spec
    assert spec.task("report").is_finally
    assert spec.task("report").inputs == {"status": g.PipelineStatus()}
    assert spec.order()[-1] == "report"


def test_nested_pipelines_are_tasks_with_their_own_graph() -> None:
    @pipeline
    def prepare(n: int = 5) -> Split:
        return split(load(n))

    @pipeline
    def outer() -> float:
        parts = prepare(n=8)
        return fit(parts.train)

    task = outer.spec.task("prepare")
    assert task.pipeline == prepare.spec and task.step is None
    assert task.outputs == ("train", "test") and task.inputs == {"n": g.Constant(8)}
    assert outer.spec.task("fit").inputs == {"train": g.TaskOutput("prepare", "train")}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (lambda: fit(load(), rate=1.0), "step 'fit': got an unexpected keyword argument 'rate'"),
        (lambda: score(fit(load())), "step 'score': missing a required argument: 'test'"),
        (
            lambda: notify(fit(load())),
            "step 'notify': input 'message' takes str, but is given float",
        ),
        (
            lambda: fit("not a list"),
            "step 'fit': input 'train' takes list[float], but is given str",
        ),
        (
            lambda: fit(load(), lr=object()),
            "step 'fit': input 'lr': a literal argument must be JSON",
        ),
        (lambda: fit(split(load())), "step 'split' has named outputs"),
        (lambda: fit(split(load()).validation), "validation"),
    ],
)
def test_a_wrong_call_fails_at_definition_naming_the_step(body: object, message: str) -> None:
    with pytest.raises((PipelineDefinitionError, AttributeError)) as failed:

        @pipeline
        def wrong() -> None:
            body()  # type: ignore[operator]

    assert message in str(failed.value)


def test_python_control_flow_on_a_handle_points_to_if() -> None:
    with pytest.raises(TypeError, match="with If"):

        @pipeline
        def wrong() -> None:
            if score(fit(load()), load()) > 0.5:
                register(1.0)


def test_reading_a_loop_output_outside_the_loop_needs_collect() -> None:
    with pytest.raises(PipelineDefinitionError, match="use collect"):

        @pipeline
        def wrong(rates: list[float] = [0.1]) -> None:  # noqa: B006
            with ParallelFor(rates) as lr:
                model = fit(load(), lr)
            score(model, load())


def test_else_must_follow_an_if_block() -> None:
    with pytest.raises(PipelineDefinitionError, match="Else must follow an If"):

        @pipeline
        def wrong() -> None:
            model = fit(load())
            with If(model > 1):
                register(model)
            notify("between")
            with Else():
                notify("never")


def test_a_finally_step_may_not_read_step_outputs() -> None:
    with pytest.raises(PipelineDefinitionError, match="finally step may read only"):

        @pipeline
        def wrong() -> None:
            model = fit(load())
            with Finally():
                register(model)


def test_the_graph_rules_hold_for_hand_built_graphs_too() -> None:
    def task(name: str, *, reads: str | None = None, after: tuple[str, ...] = ()) -> g.TaskSpec:
        inputs = {"x": g.TaskOutput(reads)} if reads else {}
        return g.TaskSpec(name, inputs, ("output",), step="m:f", after=after)

    cycle = g.PipelineSpec("loop", (), (task("a", reads="b"), task("b", reads="a")))
    with pytest.raises(PipelineDefinitionError, match="cycle through 'a'"):
        cycle.validate()
    unknown = g.PipelineSpec("p", (), (task("a", reads="ghost"),))
    with pytest.raises(PipelineDefinitionError, match="step 'a': input 'x' reads unknown step"):
        unknown.validate()
    twins = g.PipelineSpec("p", (), (task("a"), task("a")))
    with pytest.raises(PipelineDefinitionError, match="two steps are named 'a'"):
        twins.validate()
    late = g.PipelineSpec("p", (), (task("a", after=("nobody",)),))
    with pytest.raises(PipelineDefinitionError, match="runs after unknown step"):
        late.validate()


def test_bad_step_options_fail_when_the_step_is_defined() -> None:
    with pytest.raises(ValueError, match="retries must be a non-negative integer"):
        step(retries=-1)(lambda: None)
    with pytest.raises(ValueError, match="memory 'lots' is not a size"):
        step(memory="lots")(lambda: None)
    with pytest.raises(ValueError, match="unknown step options"):
        step(retry=3)(lambda: None)


def test_a_definition_round_trips_through_json_with_a_stable_digest() -> None:
    from clew.pipelines.serialize import digest, from_dict, to_dict

    @pipeline
    def everything(rates: list[float] = [0.1, 0.01], threshold: float = 0.5) -> float:  # noqa: B006
        data = load()
        parts = split(data)
        with ParallelFor(rates, parallelism=2) as lr:
            quality = score(fit(parts.train, lr), parts.test)
        top = best(collect(quality))
        with If((top > threshold) | ~(top < 0.1)):
            register(top).after(parts)
        with Finally():
            report(pipeline_status())
        return top

    spec = everything.spec
    document = to_dict(spec)
    assert from_dict(document) == spec
    assert digest(from_dict(document)) == digest(spec)
    assert document["tasks"][0] == {
        "name": "load",
        "inputs": {},
        "outputs": ["output"],
        "step": f"{load.fn.__module__}:load",
        "options": {
            "retry": {
                "retries": 0,
                "backoff_s": 1.0,
                "backoff_factor": 2.0,
                "max_backoff_s": 3600.0,
            },
            "timeout_s": None,
            "resources": {"cpu": None, "memory": None, "gpu": None},
            "caching": {"enabled": True, "expiry_s": None},
        },
    }
    assert spec.task("register").after == ("split",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["tasks"][1]["inputs"].update(data={"task": "ghost", "output": "output"}),
         "reads unknown step 'ghost'"),
        (lambda d: d["tasks"][1]["inputs"].update(data={"what": 1}), "not a source"),
        (lambda d: d["tasks"][1].update(when={"op": "~", "left": {"constant": 1},
                                              "right": {"constant": 2}}), "unknown comparison"),
        (lambda d: d["tasks"][0].update(name=""), "expected a non-empty string"),
    ],
)  # fmt: skip
def test_a_bad_document_is_refused_naming_the_place(change: Any, message: str) -> None:
    from clew.pipelines.serialize import from_dict, to_dict

    @pipeline
    def small() -> None:
        split(load())

    document = to_dict(small.spec)
    change(document)
    with pytest.raises(PipelineDefinitionError, match=message):
        from_dict(document)
