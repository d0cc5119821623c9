"""Registry changes reach subscribers through the outbox: one delivery per change, committed
with it, and none for a change that was refused."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from clew.core.errors import NotFound
from clew.core.settings import Settings
from clew.platform import Platform
from clew.registry.webhooks.model import EVENT_TYPES

from ..conftest import ALICE, log_model_run
from .conftest import Receiver


@pytest.fixture
def platform(open_settings: Settings) -> Iterator[Platform]:
    opened = Platform.open(open_settings, migrate=False)
    yield opened
    opened.close()


def _sent(platform: Platform, receiver: Receiver) -> list[tuple[str, dict[str, object]]]:
    platform.webhooks.dispatch_pending()
    out = []
    for request in receiver.requests:
        body = orjson.loads(request.body)
        out.append((body["event"], body["data"]))
    receiver.requests.clear()
    return out


def test_each_registry_change_is_delivered(platform: Platform, receiver: Receiver) -> None:
    platform.webhooks.create(ALICE, receiver.url, list(EVENT_TYPES))
    run = log_model_run(platform)
    registry = platform.registry

    registry.create_registered_model(ALICE, "churn")
    [(event, data)] = _sent(platform, receiver)
    assert event == "registered_model.created" and data["name"] == "churn"
    assert data["actor"] == "alice"

    registry.create_model_version(ALICE, "churn", run.source)
    [(event, data)] = _sent(platform, receiver)
    assert event == "model_version.created"
    assert (data["name"], data["version"], data["run_id"]) == ("churn", 1, run.run_id)

    registry.set_registered_model_alias(ALICE, "churn", "champion", 1)
    [(event, data)] = _sent(platform, receiver)
    assert event == "alias.set" and (data["alias"], data["version"]) == ("champion", 1)

    registry.transition_model_version_stage(ALICE, "churn", 1, "Production")
    [(event, data)] = _sent(platform, receiver)
    assert event == "stage.changed" and data["stage"] == "Production"

    registry.delete_registered_model_alias(ALICE, "churn", "champion")
    [(event, data)] = _sent(platform, receiver)
    assert event == "alias.deleted" and data["previous"] == 1

    registry.set_registered_model_alias(ALICE, "churn", "champion", 1)
    _sent(platform, receiver)
    registry.delete_model_version(ALICE, "churn", 1)
    [(event, data)] = _sent(platform, receiver)
    assert event == "alias.deleted"
    assert (data["alias"], data["previous"], data["reason"]) == ("champion", 1, "version_deleted")


def test_the_model_filter_and_the_event_list_apply(platform: Platform, receiver: Receiver) -> None:
    platform.webhooks.create(ALICE, receiver.url, ["registered_model.created"], model_name="b")
    platform.registry.create_registered_model(ALICE, "a")
    platform.registry.create_registered_model(ALICE, "b")
    assert [data["name"] for _, data in _sent(platform, receiver)] == ["b"]


def test_a_refused_change_sends_nothing(platform: Platform, receiver: Receiver) -> None:
    platform.webhooks.create(ALICE, receiver.url, list(EVENT_TYPES))
    with pytest.raises(NotFound):
        platform.registry.set_registered_model_alias(ALICE, "missing", "champion", 1)
    assert platform.webhooks.dispatch_pending() == 0 and receiver.requests == []
