"""``PipelineSpec`` ↔ plain JSON, and the definition's digest.

The JSON is what a pipeline version stores and what the API and the Kubeflow translators
exchange; ``from_dict`` reads it back with the same validation a traced pipeline gets, so a
hand-edited or foreign document is held to the DSL's rules. The digest is sha256 over the
canonical JSON (sorted keys): two traces of the same code give the same digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from clew.pipelines import graph as g


def to_dict(spec: g.PipelineSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "params": [
            {"name": p.name, "type": p.type, **({"default": p.default} if p.has_default else {})}
            for p in spec.params
        ],
        "tasks": [_task(t) for t in spec.tasks],
        "outputs": {k: _source(v) for k, v in spec.outputs.items()},
    }


def digest(spec: g.PipelineSpec) -> str:
    return hashlib.sha256(orjson.dumps(to_dict(spec), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _task(t: g.TaskSpec) -> dict[str, Any]:
    o = t.options
    out: dict[str, Any] = {
        "name": t.name,
        "inputs": {k: _source(v) for k, v in t.inputs.items()},
        "outputs": list(t.outputs),
        "options": {
            "retry": vars(o.retry),
            "timeout_s": o.timeout_s,
            "resources": vars(o.resources),
            "caching": vars(o.caching),
        },
    }
    if t.step is not None:
        out["step"] = t.step
    if t.pipeline is not None:
        out["pipeline"] = to_dict(t.pipeline)
    if t.when is not None:
        out["when"] = _condition(t.when)
    if t.loops:
        out["loops"] = [
            {"id": x.id, "items": _source(x.items), "parallelism": x.parallelism} for x in t.loops
        ]
    if t.after:
        out["after"] = list(t.after)
    if t.is_finally:
        out["finally"] = True
    return out


def _source(s: g.Source) -> dict[str, Any]:
    if isinstance(s, g.Constant):
        return {"constant": s.value}
    if isinstance(s, g.PipelineParam):
        return {"param": s.name}
    if isinstance(s, g.TaskOutput):
        return {"task": s.task, "output": s.output}
    if isinstance(s, g.LoopItem):
        return {"loop_item": s.loop}
    if isinstance(s, g.Collected):
        return {"collect": {"task": s.task, "output": s.output}}
    return {"pipeline_status": True}


def _condition(c: g.Condition) -> dict[str, Any]:
    if isinstance(c, g.Compare):
        return {"op": c.op.value, "left": _source(c.left), "right": _source(c.right)}
    if isinstance(c, g.Not):
        return {"not": _condition(c.term)}
    key = "all" if isinstance(c, g.AllOf) else "any"
    return {key: [_condition(term) for term in c.terms]}


# ---- reading back ----------------------------------------------------------------------------


class _Reader:
    """Reads one document, naming the place of the first thing wrong with it."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline

    def fail(self, where: str, what: str) -> g.PipelineDefinitionError:
        return g.PipelineDefinitionError(
            f"pipeline {self.pipeline!r}: {where}: {what}", pipeline=self.pipeline
        )

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected an object")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "expected a non-empty string")
        return value

    def source(self, raw: Any, where: str) -> g.Source:
        d = self.mapping(raw, where)
        if "constant" in d:
            return g.Constant(d["constant"])
        if "param" in d:
            return g.PipelineParam(self.text(d["param"], where))
        if "task" in d:
            return g.TaskOutput(self.text(d["task"], where), self.text(d.get("output"), where))
        if "loop_item" in d:
            return g.LoopItem(self.text(d["loop_item"], where))
        if "collect" in d:
            c = self.mapping(d["collect"], where)
            return g.Collected(self.text(c.get("task"), where), self.text(c.get("output"), where))
        if d.get("pipeline_status") is True:
            return g.PipelineStatus()
        raise self.fail(where, "not a source (constant, param, task, loop_item, collect)")

    def condition(self, raw: Any, where: str) -> g.Condition:
        d = self.mapping(raw, where)
        if "op" in d:
            try:
                op = g.Op(d["op"])
            except ValueError:
                raise self.fail(where, f"unknown comparison {d['op']!r}") from None
            return g.Compare(
                op, self.source(d.get("left"), where), self.source(d.get("right"), where)
            )
        if "not" in d:
            return g.Not(self.condition(d["not"], where))
        for key, kind in (("all", g.AllOf), ("any", g.AnyOf)):
            if key in d:
                if not isinstance(d[key], list) or not d[key]:
                    raise self.fail(where, f"{key!r} takes a non-empty list")
                return kind(tuple(self.condition(x, where) for x in d[key]))
        raise self.fail(where, "not a condition (op, all, any, not)")

    def options(self, raw: Any, where: str) -> g.StepOptions:
        d = self.mapping(raw or {}, where)
        try:
            return g.StepOptions(
                retry=g.Retry(**self.mapping(d.get("retry") or {}, where)),
                timeout_s=d.get("timeout_s"),
                resources=g.Resources(**self.mapping(d.get("resources") or {}, where)),
                caching=g.Caching(**self.mapping(d.get("caching") or {}, where)),
            )
        except TypeError as exc:
            raise self.fail(where, f"bad options ({exc})") from None

    def task(self, raw: Any, index: int) -> g.TaskSpec:
        d = self.mapping(raw, f"task {index}")
        name = self.text(d.get("name"), f"task {index}")
        where = f"step {name!r}"
        nested = d.get("pipeline")
        return g.TaskSpec(
            name=name,
            inputs={
                k: self.source(v, f"{where} input {k!r}")
                for k, v in self.mapping(d.get("inputs") or {}, where).items()
            },
            outputs=tuple(self.text(o, where) for o in d.get("outputs") or ()),
            step=None if d.get("step") is None else self.text(d["step"], where),
            pipeline=None if nested is None else from_dict(self.mapping(nested, where)),
            options=self.options(d.get("options"), where),
            when=None if d.get("when") is None else self.condition(d["when"], where),
            loops=tuple(
                g.Loop(
                    self.text(x.get("id"), where),
                    self.source(x.get("items"), where),
                    int(x.get("parallelism") or 0),
                )
                for x in (self.mapping(y, where) for y in d.get("loops") or ())
            ),
            after=tuple(self.text(a, where) for a in d.get("after") or ()),
            is_finally=bool(d.get("finally", False)),
        )


def from_dict(raw: Mapping[str, Any]) -> g.PipelineSpec:
    """A document from ``to_dict`` (or written by hand) as a validated ``PipelineSpec``."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    reader = _Reader(name if isinstance(name, str) and name else "?")
    doc = reader.mapping(raw, "the document")
    reader.text(doc.get("name"), "name")
    params = []
    for i, p in enumerate(doc.get("params") or ()):
        p = reader.mapping(p, f"param {i}")
        params.append(
            g.ParamSpec(reader.text(p.get("name"), f"param {i}"), p.get("type"),
                        p.get("default"), "default" in p)
        )  # fmt: skip
    tasks = tuple(reader.task(t, i) for i, t in enumerate(doc.get("tasks") or ()))
    outputs = {
        k: reader.source(v, f"output {k!r}")
        for k, v in reader.mapping(doc.get("outputs") or {}, "outputs").items()
    }
    spec = g.PipelineSpec(doc["name"], tuple(params), tasks, outputs, doc.get("description"))
    return spec.validate()
