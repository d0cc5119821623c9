"""Registered models on SQLite and PostgreSQL: lifecycle, tags, search and paging."""

from __future__ import annotations

import pytest

from clew.core.errors import AlreadyExists, InvalidFilter, InvalidPageToken, NotFound
from clew.platform import Platform
from clew.registry.service import RegistryService

from .conftest import ALICE, audit_count


def test_create_get_and_graph_context(registry: RegistryService, platform: Platform) -> None:
    created = registry.create_registered_model(ALICE, "churn", "Churn model", {"team": "ml"})
    got = registry.get_registered_model(ALICE, "churn")
    assert got == created
    assert (got.description, got.tags, got.user_id) == ("Churn model", {"team": "ml"}, "alice")
    assert got.aliases == {} and got.latest_versions == ()
    # A registered model is a context in the metadata graph.
    from sqlalchemy import select

    from clew.core import schema

    with platform.db.read() as conn:
        types = conn.execute(
            select(schema.contexts.c.type).where(schema.contexts.c.name == "churn")
        ).scalars()
        assert list(types) == ["registered_model"]


def test_duplicate_name_is_409(registry: RegistryService) -> None:
    registry.create_registered_model(ALICE, "m")
    with pytest.raises(AlreadyExists):
        registry.create_registered_model(ALICE, "m")


def test_an_experiment_may_share_a_models_name(
    registry: RegistryService, platform: Platform
) -> None:
    platform.tracking.create_experiment(ALICE, "shared")
    registry.create_registered_model(ALICE, "shared")
    assert registry.get_registered_model(ALICE, "shared").name == "shared"


def test_rename_keeps_versions_and_frees_the_old_name(registry: RegistryService) -> None:
    registry.create_registered_model(ALICE, "old")
    registry.create_model_version(ALICE, "old", "s3://bucket/model")
    renamed = registry.rename_registered_model(ALICE, "old", "new")
    assert renamed.name == "new"
    assert registry.get_model_version(ALICE, "new", 1).name == "new"
    with pytest.raises(NotFound):
        registry.get_registered_model(ALICE, "old")
    registry.create_registered_model(ALICE, "old")
    with pytest.raises(AlreadyExists):
        registry.rename_registered_model(ALICE, "old", "new")


def test_update_description_and_tags(registry: RegistryService) -> None:
    registry.create_registered_model(ALICE, "m", "first")
    assert registry.update_registered_model(ALICE, "m", "second").description == "second"
    assert registry.update_registered_model(ALICE, "m", None).description == "second"
    registry.set_registered_model_tags(ALICE, "m", {"a": "1", "b": "2"})
    registry.delete_registered_model_tag(ALICE, "m", "a")
    assert registry.get_registered_model(ALICE, "m").tags == {"b": "2"}
    with pytest.raises(NotFound):
        registry.delete_registered_model_tag(ALICE, "m", "a")


def test_delete_removes_versions_and_aliases(registry: RegistryService) -> None:
    registry.create_registered_model(ALICE, "m")
    registry.create_model_version(ALICE, "m", "s3://b/k")
    registry.set_registered_model_alias(ALICE, "m", "champion", 1)
    registry.delete_registered_model(ALICE, "m")
    with pytest.raises(NotFound):
        registry.get_registered_model(ALICE, "m")
    # The name is free again, and the new model starts at version 1.
    registry.create_registered_model(ALICE, "m")
    assert registry.create_model_version(ALICE, "m", "s3://b/k").version == 1


def test_unknown_model_is_404_and_writes_nothing(
    registry: RegistryService, platform: Platform
) -> None:
    before = audit_count(platform)
    for call in (
        lambda: registry.get_registered_model(ALICE, "nope"),
        lambda: registry.rename_registered_model(ALICE, "nope", "x"),
        lambda: registry.update_registered_model(ALICE, "nope", "d"),
        lambda: registry.set_registered_model_tags(ALICE, "nope", {"a": "b"}),
        lambda: registry.delete_registered_model(ALICE, "nope"),
    ):
        with pytest.raises(NotFound):
            call()
    assert audit_count(platform) == before


def _names(page: object) -> list[str]:
    return [m.name for m in page]  # type: ignore[attr-defined]


def test_search_filters_and_orders(registry: RegistryService) -> None:
    for name, team in (("churn-a", "ml"), ("churn-b", "risk"), ("fraud", "ml")):
        registry.create_registered_model(ALICE, name, tags={"team": team})
    assert _names(registry.search_registered_models(ALICE)) == ["churn-a", "churn-b", "fraud"]
    assert _names(registry.search_registered_models(ALICE, "name LIKE 'churn%'")) == [
        "churn-a",
        "churn-b",
    ]
    assert _names(registry.search_registered_models(ALICE, "name ILIKE 'CHURN-A'")) == ["churn-a"]
    assert _names(registry.search_registered_models(ALICE, "name != 'fraud'")) == [
        "churn-a",
        "churn-b",
    ]
    ml = registry.search_registered_models(ALICE, "tags.team = 'ml'", order_by=["name DESC"])
    assert _names(ml) == ["fraud", "churn-a"]
    newest = registry.search_registered_models(ALICE, order_by=["creation_timestamp DESC"])
    # Models made in the same millisecond tie on the timestamp (then order by name): check
    # the order itself, not which of the tied names comes first.
    stamps = [m.creation_timestamp for m in newest]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 3
    either = registry.search_registered_models(ALICE, "name = 'fraud' OR tags.team = 'risk'")
    assert _names(either) == ["churn-b", "fraud"]


def test_search_pages_with_opaque_cursors(registry: RegistryService) -> None:
    for i in range(7):
        registry.create_registered_model(ALICE, f"m{i}")
    seen, token = [], None
    while True:
        page = registry.search_registered_models(ALICE, max_results=3, page_token=token)
        seen += _names(page)
        token = page.next_page_token
        if token is None:
            break
    assert seen == [f"m{i}" for i in range(7)]
    first = registry.search_registered_models(ALICE, max_results=3)
    with pytest.raises(InvalidPageToken):
        registry.search_registered_models(
            ALICE, "name LIKE 'm%'", max_results=3, page_token=first.next_page_token
        )


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("version_number = 1", id="version-field"),
        pytest.param("name = 1", id="wrong-type"),
        pytest.param("name = 'x'; DROP TABLE contexts", id="injection"),
        pytest.param("tags.team", id="incomplete"),
    ],
)
def test_bad_filters_are_invalid_filter(registry: RegistryService, bad: str) -> None:
    with pytest.raises(InvalidFilter):
        registry.search_registered_models(ALICE, bad)
