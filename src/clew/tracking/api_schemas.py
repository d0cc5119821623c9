"""The wire shapes of the tracking API: request bodies (validated) and responses (documented).

Requests are strict (no ``"1"`` for an int, no unknown fields) and every string and collection
has an explicit bound. Bounds that mirror ``tracking.validation`` are length limits, which the
server reports as ``LIMIT_EXCEEDED`` exactly as the service does for a local caller. Batch
sizes are *not* bounded here: they come from settings, and the service enforces them.

Responses are produced by the domain models' ``to_dict`` and serialized with orjson; the
models below only describe that shape for OpenAPI (and for the schemathesis conformance test),
so they must stay in step with ``tracking.model``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictInt, StrictStr

from clew.tracking import validation as v

Name = StrictStr
Key = StrictStr
ViewTypeName = Literal["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]
RunStatusName = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
#: JSON has no NaN or infinities: they travel as these strings (MLflow does the same).
NonFinite = Literal["NaN", "Infinity", "-Infinity"]
OrderBy = Annotated[StrictStr, Field(max_length=500)]
#: Strict: ints become floats, but bools, numeric strings and ints beyond float range fail.
MetricValue = Annotated[float, Strict()] | NonFinite

MAX_TAGS = 1_000
MAX_FILTER = 20_000
MAX_ORDER_BY = 20
MAX_TOKEN = 4_096
MAX_EXPERIMENT_IDS = 1_000
MAX_DATASETS = 1_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---- requests --------------------------------------------------------------------------------


class CreateExperiment(_Request):
    name: Name = Field(max_length=v.MAX_NAME)
    artifact_location: StrictStr | None = Field(None, max_length=4096)
    tags: dict[StrictStr, StrictStr] | None = Field(None, max_length=MAX_TAGS)


class UpdateExperiment(_Request):
    name: Name = Field(max_length=v.MAX_NAME)


class SetExperimentTags(_Request):
    tags: dict[StrictStr, StrictStr] = Field(max_length=MAX_TAGS)


class _Search(_Request):
    filter: StrictStr = Field("", max_length=MAX_FILTER)
    order_by: list[OrderBy] = Field(default_factory=list, max_length=MAX_ORDER_BY)
    max_results: StrictInt = 1000
    page_token: StrictStr | None = Field(None, max_length=MAX_TOKEN)
    view_type: ViewTypeName = "ACTIVE_ONLY"


class SearchExperiments(_Search):
    pass


class SearchRuns(_Search):
    experiment_ids: list[StrictStr] | None = Field(None, max_length=MAX_EXPERIMENT_IDS)


class UpdateRun(_Request):
    status: RunStatusName | None = None
    end_time: StrictInt | None = None
    run_name: StrictStr | None = Field(None, max_length=v.MAX_NAME)


class MetricIn(_Request):
    key: Key = Field(max_length=v.MAX_KEY)
    value: MetricValue
    timestamp: StrictInt
    step: StrictInt = 0


class LogMetric(_Request):
    key: Key = Field(max_length=v.MAX_KEY)
    value: MetricValue
    #: Defaults to the server's clock; clients that retry should send it.
    timestamp: StrictInt | None = None
    step: StrictInt = 0


class ParamIn(_Request):
    key: Key = Field(max_length=v.MAX_KEY)
    value: StrictStr = Field(max_length=v.MAX_PARAM_VALUE)


class TagIn(_Request):
    key: Key = Field(max_length=v.MAX_KEY)
    value: StrictStr = Field(max_length=v.MAX_TAG_VALUE)


class LogBatch(_Request):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[ParamIn] = Field(default_factory=list)
    tags: list[TagIn] = Field(default_factory=list)


class CreateRun(_Request):
    experiment_id: StrictStr = Field("0", max_length=20)
    run_name: StrictStr | None = Field(None, max_length=v.MAX_NAME)
    start_time: StrictInt | None = None
    tags: dict[StrictStr, StrictStr] | None = Field(None, max_length=MAX_TAGS)
    parent_run_id: StrictStr | None = Field(None, max_length=32)
    #: The run's first params and metrics, written in the same transaction as the run.
    params: list[ParamIn] = Field(default_factory=list)
    metrics: list[MetricIn] = Field(default_factory=list)
    #: RUNNING unless given; a terminal status records a run that already ended.
    status: RunStatusName | None = None
    end_time: StrictInt | None = None


class DatasetIn(_Request):
    name: Name = Field(max_length=v.MAX_NAME)
    digest: StrictStr = Field(max_length=128)
    source_type: StrictStr = Field("", max_length=v.MAX_KEY)
    source: StrictStr = Field("", max_length=v.MAX_DATASET_SOURCE)
    schema_: StrictStr = Field("", alias="schema", max_length=v.MAX_DATASET_SCHEMA)
    profile: StrictStr = Field("", max_length=v.MAX_DATASET_PROFILE)


class DatasetInputIn(_Request):
    dataset: DatasetIn
    tags: dict[StrictStr, StrictStr] = Field(default_factory=dict, max_length=MAX_TAGS)


class LogInputs(_Request):
    datasets: list[DatasetInputIn] = Field(max_length=MAX_DATASETS)


# ---- responses -------------------------------------------------------------------------------


class ExperimentOut(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]


class ExperimentCreated(BaseModel):
    experiment_id: str


class ExperimentPage(BaseModel):
    experiments: list[ExperimentOut]
    next_page_token: str | None


class MetricOut(BaseModel):
    key: str
    value: float | NonFinite
    timestamp: int
    step: int


class RunInfoOut(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None


class RunDataOut(BaseModel):
    params: dict[str, str]
    metrics: list[MetricOut]
    tags: dict[str, str]


class DatasetOut(BaseModel):
    name: str
    digest: str
    source_type: str
    source: str
    schema_: str = Field(alias="schema")
    profile: str


class DatasetInputOut(BaseModel):
    dataset: DatasetOut
    tags: dict[str, str]


class ModelOutputOut(BaseModel):
    model_id: str
    step: int


class ModelInputOut(BaseModel):
    model_id: str


class RunOut(BaseModel):
    info: RunInfoOut
    data: RunDataOut
    inputs: list[DatasetInputOut]
    outputs: list[ModelOutputOut] = []
    model_inputs: list[ModelInputOut] = []


class RunPage(BaseModel):
    runs: list[RunOut]
    next_page_token: str | None


class MetricHistoryOut(BaseModel):
    """Columns, not rows: 100,000 points serialize as three arrays."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float | NonFinite]


# ---- the UI's run views ------------------------------------------------------------------------


class RunKeysQuery(_Request):
    experiment_ids: list[StrictStr] | None = Field(None, max_length=MAX_EXPERIMENT_IDS)
    view_type: ViewTypeName = "ACTIVE_ONLY"


class CountRuns(_Request):
    """``runs/search``'s scope and filter; ordering and paging do not change a count."""

    experiment_ids: list[StrictStr] | None = Field(None, max_length=MAX_EXPERIMENT_IDS)
    filter: StrictStr = Field("", max_length=MAX_FILTER)
    view_type: ViewTypeName = "ACTIVE_ONLY"


class MetricSeriesQuery(_Request):
    #: Bounds mirror ``tracking.view_service``: 100 runs, 20 keys, 5..10,000 points.
    run_ids: list[StrictStr] = Field(min_length=1, max_length=100)
    keys: list[Key] = Field(min_length=1, max_length=20)
    max_points: StrictInt = Field(1000, ge=5, le=10_000)
    x: Literal["step", "time", "wall"] = "step"


class RunKeysOut(BaseModel):
    """Distinct names, each list sorted and at most 2,000 long; ``truncated``: one was cut."""

    metrics: list[str]
    params: list[str]
    tags: list[str]
    datasets: list[str]
    truncated: bool


class RunCountOut(BaseModel):
    count: int


class MetricSeriesOut(BaseModel):
    """``points``: ``[x, value]`` pairs in x order; x is the step, milliseconds since the
    series' first point (``time``) or the timestamp (``wall``)."""

    run_id: str
    key: str
    points: list[tuple[int, float | NonFinite]]
    total_points: int
    downsampled: bool


class MetricSeriesPage(BaseModel):
    series: list[MetricSeriesOut]
