"""Roles decide, from stored data, on both databases: with authentication on, every service
asks the role authorizer, and a run's or logged model's experiment comes from the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clew.core.actor import Actor
from clew.core.errors import PermissionDenied
from clew.core.settings import Settings
from clew.governance.authorizer import RoleAuthorizer
from clew.platform import Platform
from clew.tracking.model import Metric

ROOT, ALICE, BOB, CAROL, DAVE = (Actor(n) for n in ("root", "alice", "bob", "carol", "dave"))
PASSWORD = "correct horse battery"


@pytest.fixture
def governed(settings: Settings) -> Iterator[tuple[Platform, dict[str, str]]]:
    """root (admin); alice editor on experiment A; bob viewer on everything; carol nothing;
    dave maintainer on the model churn through the team ml. Returns ids by name."""
    on = settings.model_copy(update={"auth": True, "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    platform = Platform.open(on)
    assert isinstance(platform.tracking.authz, RoleAuthorizer)
    platform.users.bootstrap_admin("root", PASSWORD)
    for name in ("alice", "bob", "carol", "dave"):
        platform.users.create_user(ROOT, name, password=PASSWORD)
    a = platform.tracking.create_experiment(ROOT, "A")
    b = platform.tracking.create_experiment(ROOT, "B")
    ids = {
        "A": a,
        "B": b,
        "run_a": platform.tracking.create_run(ROOT, a).info.run_id,
        "run_b": platform.tracking.create_run(ROOT, b).info.run_id,
    }
    platform.access.grant(ROOT, "alice", "editor", "experiment", a)
    platform.access.grant(ROOT, "bob", "viewer")
    platform.access.create_team(ROOT, "ml")
    platform.access.set_member(ROOT, "ml", "dave", True)
    platform.access.grant(ROOT, "ml", "maintainer", "registered_model", "churn", team=True)
    platform.registry.create_registered_model(ROOT, "churn")
    platform.registry.create_registered_model(ROOT, "other")
    yield platform, ids
    platform.close()


def _log(platform: Platform, actor: Actor, run_id: str) -> None:
    platform.tracking.log_batch(actor, run_id, metrics=[Metric("m", 1.0, 1, 0)])


def test_an_editor_of_one_experiment_writes_its_runs_and_no_others(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    _log(platform, ALICE, ids["run_a"])
    assert platform.tracking.get_run(ALICE, ids["run_a"]).info.run_id == ids["run_a"]
    with pytest.raises(PermissionDenied):
        _log(platform, ALICE, ids["run_b"])  # the run says B, whatever the caller claims
    with pytest.raises(PermissionDenied):
        platform.tracking.get_run(ALICE, ids["run_b"])
    with pytest.raises(PermissionDenied):
        platform.tracking.create_experiment(ALICE, "mine")  # creating needs editor on all
    with pytest.raises(PermissionDenied):
        platform.tracking.delete_experiment(ALICE, ids["A"])  # deleting needs maintainer


def test_a_viewer_reads_everything_and_writes_nothing(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    assert platform.tracking.get_run(BOB, ids["run_b"]).info.experiment_id == ids["B"]
    with pytest.raises(PermissionDenied):
        _log(platform, BOB, ids["run_a"])
    with pytest.raises(PermissionDenied):
        platform.registry.create_registered_model(BOB, "new")


def test_no_grant_no_access_and_unknown_users_are_denied(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    for actor in (CAROL, Actor("nobody"), Actor("anonymous")):
        with pytest.raises(PermissionDenied):
            platform.tracking.get_run(actor, ids["run_a"])
        with pytest.raises(PermissionDenied):
            platform.users.list_users(actor)
        with pytest.raises(PermissionDenied):
            platform.audit.list(actor)


def test_a_team_grant_on_a_model_reaches_its_members(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, _ = governed
    platform.registry.set_registered_model_tags(DAVE, "churn", {"owner": "ml"})
    with pytest.raises(PermissionDenied):
        platform.registry.set_registered_model_tags(DAVE, "other", {"owner": "ml"})
    platform.access.set_member(ROOT, "ml", "dave", False)  # takes effect at once here
    with pytest.raises(PermissionDenied):
        platform.registry.set_registered_model_tags(DAVE, "churn", {"owner": "x"})
    platform.access.set_member(ROOT, "ml", "dave", True)
    platform.registry.delete_registered_model(DAVE, "churn")  # maintainer: may delete


def test_admins_and_clews_own_work_may_do_anything(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    _log(platform, ROOT, ids["run_b"])
    _log(platform, Actor.system(), ids["run_b"])
    platform.users.create_user(ROOT, "erin", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        platform.users.create_user(ALICE, "mallory", password=PASSWORD)


def test_grants_revokes_and_disabling_take_effect_at_once_in_this_process(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    with pytest.raises(PermissionDenied):
        _log(platform, CAROL, ids["run_b"])
    platform.access.grant(ROOT, "carol", "editor", "experiment", ids["B"])
    _log(platform, CAROL, ids["run_b"])
    platform.users.update_user(ROOT, "carol", disabled=True)
    with pytest.raises(PermissionDenied):
        _log(platform, CAROL, ids["run_b"])


def test_another_servers_grant_arrives_within_the_cache_time(settings: Settings) -> None:
    clock = [0.0]
    on = settings.model_copy(update={"auth": True, "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    one = Platform.open(on)
    try:
        one.users.bootstrap_admin("root", PASSWORD)
        one.users.create_user(ROOT, "carol", password=PASSWORD)
        eid = one.tracking.create_experiment(ROOT, "X")
        other = RoleAuthorizer(one.db, cache_s=5, clock=lambda: clock[0])
        from clew.core.authz import Permission
        from clew.tracking.service_base import experiment_resource

        with pytest.raises(PermissionDenied):
            other.check(CAROL, Permission.READ, experiment_resource(eid))
        one.access.grant(ROOT, "carol", "viewer")  # made elsewhere: ``other`` remembers
        with pytest.raises(PermissionDenied):
            other.check(CAROL, Permission.READ, experiment_resource(eid))
        clock[0] = 5.1
        other.check(CAROL, Permission.READ, experiment_resource(eid))
    finally:
        one.close()


def test_a_search_across_experiments_finds_only_what_the_caller_may_read(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed

    def found(actor: Actor, filter_string: str = "") -> set[str]:
        page = platform.tracking.search_runs(actor, None, filter_string)
        return {r.info.run_id for r in page.items}

    assert found(ROOT) == {ids["run_a"], ids["run_b"]}
    assert found(BOB) == {ids["run_a"], ids["run_b"]}  # viewer on everything
    assert found(ALICE) == {ids["run_a"]}  # editor of A only: B's runs are not in the answer
    assert found(ALICE, "attributes.status = 'RUNNING'") == {ids["run_a"]}
    assert found(CAROL) == set() and found(Actor("nobody")) == set()
    with pytest.raises(PermissionDenied):  # naming an experiment you may not read
        platform.tracking.search_runs(ALICE, [ids["B"]])


def test_an_experiment_search_lists_only_what_the_caller_may_read(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, _ = governed

    def names(actor: Actor, filter_string: str = "") -> set[str]:
        return {e.name for e in platform.tracking.search_experiments(actor, filter_string).items}

    assert {"A", "B"} <= names(ROOT) and {"A", "B"} <= names(BOB)
    assert names(ALICE) == {"A"}
    assert names(ALICE, "name LIKE '%'") == {"A"}
    assert names(CAROL) == set()


def test_model_and_version_searches_list_only_readable_models(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, _ = governed
    platform.registry.create_model_version(ROOT, "churn", "s3://b/churn")
    platform.registry.create_model_version(ROOT, "other", "s3://b/other")

    def models(actor: Actor) -> set[str]:
        return {m.name for m in platform.registry.search_registered_models(actor).items}

    def versions(actor: Actor) -> set[str]:
        return {v.name for v in platform.registry.search_model_versions(actor).items}

    assert models(BOB) == versions(BOB) == {"churn", "other"}
    assert models(DAVE) == versions(DAVE) == {"churn"}  # the team's model only
    assert models(CAROL) == versions(CAROL) == set()


def test_a_logged_model_search_lists_only_readable_experiments_models(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    platform, ids = governed
    in_a = platform.logged_models.create(ROOT, experiment_id=ids["A"], name="in-a")
    platform.logged_models.create(ROOT, experiment_id=ids["B"], name="in-b")

    def names(actor: Actor) -> set[str]:
        return {m.name for m in platform.logged_models.search(actor).items}

    assert names(BOB) == {"in-a", "in-b"}
    assert names(ALICE) == {"in-a"}
    assert names(CAROL) == set()
    assert platform.logged_models.get(ALICE, in_a.model_id).name == "in-a"


def test_pipeline_listings_show_only_readable_pipelines(
    governed: tuple[Platform, dict[str, str]],
) -> None:
    from clew.pipelines import serialize
    from tests.pipelines import job_steps

    platform, _ = governed
    for flow in (job_steps.arithmetic, job_steps.needs_x):
        platform.jobs.register_version(ROOT, serialize.to_dict(flow.spec))
    platform.access.grant(ROOT, "alice", "viewer", "pipeline", "arithmetic")

    def pipelines(actor: Actor) -> set[str]:
        return {v.pipeline for v in platform.jobs.list_versions(actor)}

    assert pipelines(BOB) == {"arithmetic", "needs_x"}
    assert pipelines(ALICE) == {"arithmetic"}
    assert pipelines(CAROL) == set()
    assert platform.jobs.list_jobs(CAROL) == ([], None)
    assert platform.schedules.list_schedules(CAROL) == []
