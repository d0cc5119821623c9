"""Model signatures in MLflow's wire shape: what a model takes and returns.

A schema is either column-based (named, typed columns: ``{"type": "double", "name": "x",
"required": true}``) or tensor-based (``{"type": "tensor", "tensor-spec": {"dtype": "float64",
"shape": [-1, 3]}}``). The MLmodel file stores ``inputs``/``outputs``/``params`` as JSON *strings*
(MLflow does it to keep the YAML compact); we keep byte-compatible key order so a signature
written here reads back identically in MLflow, and vice versa.

Nested column types MLflow added later (``array``, ``object``, ``map``, ``any``) are kept as
their raw JSON dict so they round-trip untouched; enforcement treats them as opaque.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from clew.core.errors import InvalidModel

#: MLflow's scalar column types, in its spelling.
COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")


@dataclass(frozen=True)
class ColSpec:
    """One column: an MLflow type name (or a raw nested-type dict), an optional name."""

    type: str | dict[str, Any]
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type} if isinstance(self.type, str) else dict(self.type)
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: a numpy dtype name and a shape where ``-1`` is any size (the batch axis)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        spec = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self.name, "type": "tensor", "tensor-spec": spec}


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """An ordered list of all-column or all-tensor specs."""

    specs: tuple[Spec, ...]

    def __post_init__(self) -> None:
        kinds = {type(s) for s in self.specs}
        if len(kinds) > 1:
            raise InvalidModel("A schema mixes column and tensor specs")

    @property
    def is_tensor(self) -> bool:
        return bool(self.specs) and isinstance(self.specs[0], TensorSpec)

    @property
    def names(self) -> list[str | None]:
        return [s.name for s in self.specs]

    @property
    def has_names(self) -> bool:
        return all(s.name is not None for s in self.specs)

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.specs])

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise InvalidModel(f"Signature schema is not JSON: {exc}") from exc
        if not isinstance(items, list):
            raise InvalidModel("Signature schema must be a JSON list")
        return cls(tuple(_spec_from_dict(item) for item in items))


def _spec_from_dict(item: Any) -> Spec:
    if not isinstance(item, dict) or "type" not in item:
        raise InvalidModel(f"Signature entry without a type: {item!r}")
    name = item.get("name")
    if item["type"] == "tensor":
        spec = item.get("tensor-spec") or {}
        try:
            return TensorSpec(str(spec["dtype"]), tuple(int(d) for d in spec["shape"]), name)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModel(f"Malformed tensor spec: {item!r}") from exc
    required = bool(item.get("required", True))
    if isinstance(item["type"], str) and item["type"] in COLUMN_TYPES:
        return ColSpec(item["type"], name, required)
    raw = {k: v for k, v in item.items() if k not in ("name", "required")}
    return ColSpec(raw, name, required)


@dataclass(frozen=True)
class ModelSignature:
    """Inputs, optional outputs, and MLflow's inference ``params`` schema kept as raw JSON."""

    inputs: Schema
    outputs: Schema | None = None
    params: str | None = field(default=None)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json(),
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        inputs = data.get("inputs")
        if not isinstance(inputs, str):
            raise InvalidModel("Signature has no inputs")
        outputs = data.get("outputs")
        params = data.get("params")
        return cls(
            Schema.from_json(inputs),
            Schema.from_json(outputs) if isinstance(outputs, str) else None,
            params if isinstance(params, str) else None,
        )
