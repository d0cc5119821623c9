"""Aliases, stages, latest versions, ``models:/`` URIs and alias history, on both databases."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Connection

from clew.core.actor import Actor
from clew.core.errors import InvalidInput, InvalidModelName, NotFound, PermissionDenied
from clew.platform import Platform
from clew.registry.model import Stage
from clew.registry.promotion import Promotion
from clew.registry.service import RegistryService

from .conftest import ALICE, audit_count


@pytest.fixture
def churn(registry: RegistryService) -> str:
    registry.create_registered_model(ALICE, "churn")
    for i in range(3):
        registry.create_model_version(ALICE, "churn", f"s3://b/v{i + 1}")
    return "churn"


def test_set_move_and_delete_alias(registry: RegistryService, churn: str) -> None:
    registry.set_registered_model_alias(ALICE, churn, "champion", 1)
    registry.set_registered_model_alias(ALICE, churn, "challenger", 1)
    mv = registry.get_model_version_by_alias(ALICE, churn, "champion")
    assert (mv.version, mv.aliases) == (1, ("challenger", "champion"))
    registry.set_registered_model_alias(ALICE, churn, "champion", "2")
    assert registry.get_model_version_by_alias(ALICE, churn, "champion").version == 2
    assert registry.get_registered_model(ALICE, churn).aliases == {"challenger": 1, "champion": 2}
    registry.delete_registered_model_alias(ALICE, churn, "champion")
    with pytest.raises(NotFound):
        registry.get_model_version_by_alias(ALICE, churn, "champion")
    with pytest.raises(NotFound):
        registry.delete_registered_model_alias(ALICE, churn, "champion")


def test_alias_to_missing_version_or_model_is_404(registry: RegistryService, churn: str) -> None:
    with pytest.raises(NotFound):
        registry.set_registered_model_alias(ALICE, churn, "champion", 9)
    with pytest.raises(NotFound):
        registry.set_registered_model_alias(ALICE, "nope", "champion", 1)


@pytest.mark.parametrize("alias", ["latest", "v1", "a/b", "a b", "", "x" * 256])
def test_bad_aliases(registry: RegistryService, churn: str, alias: str) -> None:
    with pytest.raises(InvalidInput):
        registry.set_registered_model_alias(ALICE, churn, alias, 1)


def test_deleting_a_version_removes_its_aliases(registry: RegistryService, churn: str) -> None:
    registry.set_registered_model_alias(ALICE, churn, "champion", 2)
    registry.delete_model_version(ALICE, churn, 2)
    assert registry.get_registered_model(ALICE, churn).aliases == {}
    moves = registry.alias_history(ALICE, churn, "champion").moves
    assert [(m.version, m.previous) for m in moves] == [(2, None), (None, 2)]


def test_resolve_model_uris(registry: RegistryService, churn: str) -> None:
    registry.set_registered_model_alias(ALICE, churn, "champion", 2)
    registry.transition_model_version_stage(ALICE, churn, 1, "production")
    assert registry.resolve_model_uri(ALICE, "models:/churn@champion").version == 2
    assert registry.resolve_model_uri(ALICE, "models:/churn/3").version == 3
    assert registry.resolve_model_uri(ALICE, "models:/churn/latest").version == 3
    assert registry.resolve_model_uri(ALICE, "models:/churn/Production").version == 1
    with pytest.raises(NotFound):
        registry.resolve_model_uri(ALICE, "models:/churn/Staging")
    with pytest.raises(InvalidInput):
        registry.resolve_model_uri(ALICE, "models:/churn")


def test_stages_and_archive_existing(registry: RegistryService, churn: str) -> None:
    registry.transition_model_version_stage(ALICE, churn, 1, "Production")
    registry.transition_model_version_stage(ALICE, churn, 2, "Staging")
    moved = registry.transition_model_version_stage(
        ALICE, churn, 3, "PRODUCTION", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    stages = {v: registry.get_model_version(ALICE, churn, v).current_stage for v in (1, 2, 3)}
    assert stages == {1: "Archived", 2: "Staging", 3: "Production"}
    latest = registry.get_latest_versions(ALICE, churn)
    assert [(v.version, v.current_stage) for v in latest] == [
        (1, "Archived"),
        (2, "Staging"),
        (3, "Production"),
    ]
    assert [v.version for v in registry.get_latest_versions(ALICE, churn, ["Staging"])] == [2]
    assert registry.get_latest_versions(ALICE, churn, ["None"]) == []
    with pytest.raises(InvalidInput):
        registry.transition_model_version_stage(ALICE, churn, 1, "Prod")
    with pytest.raises(InvalidInput):
        registry.transition_model_version_stage(
            ALICE, churn, 1, "Archived", archive_existing_versions=True
        )
    model = registry.get_registered_model(ALICE, churn)
    assert [(v.version, v.current_stage) for v in model.latest_versions] == [
        (1, "Archived"),
        (2, "Staging"),
        (3, "Production"),
    ]


def test_history_answers_who_held_an_alias_when(
    registry: RegistryService, churn: str, platform: Platform
) -> None:
    registry.set_registered_model_alias(ALICE, churn, "champion", 1)
    time.sleep(0.01)
    registry.set_registered_model_alias(ALICE, churn, "champion", 2)
    middle = registry.alias_history(ALICE, churn, "champion").moves[-1].time
    time.sleep(0.01)
    registry.set_registered_model_alias(Actor("bob"), churn, "champion", 3)
    registry.transition_model_version_stage(ALICE, churn, 3, Stage.STAGING)
    history = registry.alias_history(ALICE, churn, "champion", at=middle)
    assert [(m.version, m.previous, m.actor) for m in history.moves] == [
        (1, None, "alice"),
        (2, 1, "alice"),
        (3, 2, "bob"),
    ]
    assert history.version_at == 2
    assert registry.alias_history(ALICE, churn, "champion", at=0).version_at is None
    everything = registry.alias_history(ALICE, churn)
    assert [m.stage for m in everything.moves][-1] == "Staging"
    # The history survives a rename: it hangs off the model, not its name.
    registry.rename_registered_model(ALICE, churn, "churn2")
    assert len(registry.alias_history(ALICE, "churn2", "champion").moves) == 3


class _Protected:
    """A guard that refuses any move of ``prod`` and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[Promotion] = []

    def check(self, conn: Connection, actor: Actor, promotion: Promotion) -> None:
        self.asked.append(promotion)
        if promotion.alias == "prod" or promotion.stage == "Production":
            raise PermissionDenied("prod is protected")


def test_the_promotion_guard_sees_every_move_and_can_refuse(
    registry: RegistryService, churn: str, platform: Platform
) -> None:
    guard = _Protected()
    registry.guard = guard
    registry.set_registered_model_alias(ALICE, churn, "staging", 1)
    before = audit_count(platform)
    with pytest.raises(PermissionDenied):
        registry.set_registered_model_alias(ALICE, churn, "prod", 2)
    with pytest.raises(PermissionDenied):
        registry.transition_model_version_stage(ALICE, churn, 2, "Production")
    assert audit_count(platform) == before
    assert registry.get_model_version(ALICE, churn, 2).current_stage == "None"
    registry.set_registered_model_alias(ALICE, churn, "staging", 2)
    registry.delete_model_version(ALICE, churn, 2)
    asked = [(p.alias, p.stage, p.version, p.previous, p.reason) for p in guard.asked]
    assert asked == [
        ("staging", None, 1, None, ""),
        ("prod", None, 2, None, ""),
        (None, "Production", 2, None, ""),
        ("staging", None, 2, 1, ""),
        ("staging", None, None, 2, "version_deleted"),
    ]


def test_alias_on_bad_model_name(registry: RegistryService) -> None:
    with pytest.raises(InvalidModelName):
        registry.set_registered_model_alias(ALICE, "../x", "a", 1)
