"""The wire shapes of the registry API: request bodies (validated) and responses (documented).

Requests are strict (no unknown fields, no ``"1"`` for an int) and every string has a bound;
bounds that mirror ``registry.validation`` surface as ``LIMIT_EXCEEDED``, as the service reports
them to a local caller. Names, aliases and sources are checked by the service, so their
specific codes (``INVALID_MODEL_NAME``, ``INVALID_SOURCE``) are the same locally and over HTTP.
Responses are the domain models' ``to_dict``; the models below describe that shape for OpenAPI.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from clew.registry import sources
from clew.registry import validation as v
from clew.tracking.api_schemas import MAX_FILTER, MAX_ORDER_BY, MAX_TOKEN, OrderBy

Tags = dict[StrictStr, StrictStr]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- requests --------------------------------------------------------------------------------


class CreateModel(_Request):
    name: StrictStr = Field(max_length=v.MAX_NAME)
    description: StrictStr | None = Field(None, max_length=v.MAX_DESCRIPTION)
    tags: Tags | None = Field(None, max_length=v.MAX_TAGS)


class UpdateModel(_Request):
    description: StrictStr | None = Field(None, max_length=v.MAX_DESCRIPTION)


class RenameModel(_Request):
    new_name: StrictStr = Field(max_length=v.MAX_NAME)


class SetTags(_Request):
    tags: Tags = Field(max_length=v.MAX_TAGS)


class Search(_Request):
    filter: StrictStr = Field("", max_length=MAX_FILTER)
    order_by: list[OrderBy] = Field(default_factory=list, max_length=MAX_ORDER_BY)
    max_results: StrictInt = 100
    page_token: StrictStr | None = Field(None, max_length=MAX_TOKEN)


class CreateVersion(_Request):
    source: StrictStr = Field(max_length=sources.MAX_SOURCE)
    run_id: StrictStr | None = Field(None, max_length=32)
    tags: Tags | None = Field(None, max_length=v.MAX_TAGS)
    description: StrictStr | None = Field(None, max_length=v.MAX_DESCRIPTION)
    logged_model_id: StrictStr | None = Field(None, max_length=64)
    status: StrictStr = Field("READY", max_length=32)


class UpdateVersion(_Request):
    description: StrictStr | None = Field(None, max_length=v.MAX_DESCRIPTION)
    status: StrictStr | None = Field(None, max_length=32)
    status_message: StrictStr | None = Field(None, max_length=v.MAX_STATUS_MESSAGE)


class TransitionStage(_Request):
    stage: StrictStr = Field(max_length=32)
    archive_existing_versions: StrictBool = False


class SetAlias(_Request):
    version: StrictInt | StrictStr


# ---- responses -------------------------------------------------------------------------------


class ModelVersionOut(BaseModel):
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str
    current_stage: str
    description: str
    source: str
    run_id: str | None
    status: str
    status_message: str
    logged_model_id: str | None
    digest: str
    tags: dict[str, str]
    aliases: list[str]
    run_link: str = ""


class RegisteredModelOut(BaseModel):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_versions: list[ModelVersionOut]


class ModelPage(BaseModel):
    registered_models: list[RegisteredModelOut]
    next_page_token: str | None


class VersionPage(BaseModel):
    model_versions: list[ModelVersionOut]
    next_page_token: str | None


class VersionList(BaseModel):
    model_versions: list[ModelVersionOut]


class VersionFileOut(BaseModel):
    path: str
    digest: str
    size: int


class VersionFiles(BaseModel):
    files: list[VersionFileOut]


class VerificationOut(BaseModel):
    name: str
    version: int
    ok: bool
    checked: int
    mismatched: list[str]
    missing: list[str]
    tree_ok: bool


class AliasMoveOut(BaseModel):
    seq: int
    time: int
    actor: str
    action: str
    alias: str
    version: int | None
    previous: int | None
    stage: str


class AliasHistoryOut(BaseModel):
    name: str
    alias: str | None
    at: int | None
    version_at: int | None
    aliases_at: dict[str, int]
    moves: list[AliasMoveOut]
