"""``verify_signature``, the receiver's half: fresh, exact, and strict about the header."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from clew.registry.webhooks.signing import new_secret, sign, signature_header, verify_signature

SECRET = "whsec_test"
BODY = b'{"event":"alias.set","id":"x"}'
T = 1_800_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == expected
    assert signature_header(SECRET, T, BODY) == f"t={T},v1={expected}"


def test_a_valid_signature_verifies_within_the_tolerance() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify_signature(SECRET, header, BODY, now=T)
    assert verify_signature(SECRET, header, BODY, now=T + 300)
    assert verify_signature(SECRET, header, BODY, now=T - 300)  # receiver's clock behind
    assert not verify_signature(SECRET, header, BODY, now=T + 301)  # a replay
    assert verify_signature(SECRET, header, BODY, tolerance=3600, now=T + 3000)


def test_any_matching_v1_entry_is_enough() -> None:
    good = sign(SECRET, T, BODY)
    assert verify_signature(SECRET, f"t={T},v1={'0' * 64},v1={good}", BODY, now=T)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("v1=abc", id="no-timestamp"),
        pytest.param(f"t={T}", id="no-signature"),
        pytest.param(f"t={T},t={T},v1=" + "0" * 64, id="two-timestamps"),
        pytest.param(f"t=-{T},v1=" + "0" * 64, id="negative-timestamp"),
        pytest.param(f"t={T}.5,v1=" + "0" * 64, id="fractional-timestamp"),
        pytest.param(f"t={T},v1", id="entry-without-value"),
        pytest.param(f"t={T},v1=é", id="non-ascii"),
        pytest.param("t=1," + "v1=0," * 1000, id="oversized"),
    ],
)
def test_malformed_headers_do_not_verify(header: str | None) -> None:
    assert not verify_signature(SECRET, header, BODY, now=T)


def test_a_changed_body_or_secret_does_not_verify() -> None:
    header = signature_header(SECRET, T, BODY)
    assert not verify_signature(SECRET, header, BODY + b" ", now=T)
    assert not verify_signature("whsec_other", header, BODY, now=T)
    # The timestamp is signed too: moving it forward breaks the signature.
    forged = header.replace(f"t={T}", f"t={T + 1000}")
    assert not verify_signature(SECRET, forged, BODY, now=T + 1000)


def test_secrets_are_long_and_fresh() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") and len(s) >= 48 for s in secrets)
