"""The SQL of single sign-on: logins in flight, and which provider subject is which user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from clew.core import schema

L, I = schema.oidc_logins, schema.oidc_identities  # noqa: E741


class OidcStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_login(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(L).values(**values))

    def take_login(self, state_sha256: str) -> Any:
        """The login with this state, deleted as it is read: a state works once."""
        row = self.conn.execute(select(L).where(L.c.state_sha256 == state_sha256)).first()
        if row is not None:
            self.conn.execute(delete(L).where(L.c.state_sha256 == state_sha256))
        return row

    def drop_expired_logins(self, now: int) -> None:
        self.conn.execute(delete(L).where(L.c.expires_at <= now))

    def identity(self, issuer: str, subject: str) -> Any:
        q = select(I).where(I.c.issuer == issuer, I.c.subject == subject)
        return self.conn.execute(q).first()

    def identity_of_user(self, user_id: str) -> Any:
        return self.conn.execute(select(I).where(I.c.user_id == user_id)).first()

    def link(self, issuer: str, subject: str, user_id: str, now: int) -> None:
        self.conn.execute(insert(I).values(issuer=issuer, subject=subject, user_id=user_id,
                                           created_at=now, last_login_at=now))  # fmt: skip

    def touch(self, issuer: str, subject: str, now: int) -> None:
        self.conn.execute(
            update(I).where(I.c.issuer == issuer, I.c.subject == subject).values(last_login_at=now)
        )
