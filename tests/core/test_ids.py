"""Id checks: exact shapes only (a trailing newline passes ``re.match`` with ``$``)."""

from __future__ import annotations

import pytest

from clew.core.errors import InvalidInput
from clew.core.ids import check_experiment_id, check_logged_model_id, check_run_id

RUN = "0123456789abcdef0123456789abcdef"


def test_well_formed_ids_pass() -> None:
    assert check_run_id(RUN) == RUN
    assert check_experiment_id("42") == 42
    assert check_logged_model_id("m-" + RUN) == "m-" + RUN


@pytest.mark.parametrize(
    ("check", "value"),
    [
        pytest.param(check_run_id, RUN + "\n", id="run-trailing-newline"),
        pytest.param(check_run_id, RUN.upper(), id="run-uppercase"),
        pytest.param(check_run_id, RUN[:-1], id="run-short"),
        pytest.param(check_experiment_id, "1\n", id="experiment-trailing-newline"),
        pytest.param(check_experiment_id, "-1", id="experiment-negative"),
        pytest.param(check_logged_model_id, "m-" + RUN + "\n", id="logged-model-newline"),
    ],
)
def test_malformed_ids_are_refused(check: object, value: str) -> None:
    with pytest.raises(InvalidInput):
        check(value)  # type: ignore[operator]
