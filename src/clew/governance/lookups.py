"""What identity use cases start from: checked names, new ids, and the rows they name."""

from __future__ import annotations

import enum
import re
import uuid
from typing import Any, Final

from clew.core.authz import Resource
from clew.core.errors import InvalidInput, NotFound
from clew.governance.store import IdentityStore

#: Managing users, teams and roles needs ``Permission.MANAGE`` on this: an admin's.
IDENTITY: Final = Resource("identity", "*")
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,249}")


def check_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInput(
            f"A {what} name is 1-250 letters, digits and . _ @ + -, starting with a letter or digit"
        )
    return name


def new_id() -> str:
    return uuid.uuid4().hex


def choice(kind: type[enum.StrEnum], value: object, what: str) -> Any:
    """``value`` as a member of ``kind``, or ``InvalidInput`` listing the members."""
    if isinstance(value, str) and value in tuple(kind):
        return kind(value)
    names = ", ".join(member.value for member in kind)
    raise InvalidInput(f"{what} must be one of {names}; not {value!r}")


def require_user(store: IdentityStore, name: str) -> Any:
    row = store.user_row(name) if isinstance(name, str) else None
    if row is None:
        raise NotFound("No such user", name=name)
    return row


def require_team(store: IdentityStore, name: str) -> Any:
    row = store.team_row(name) if isinstance(name, str) else None
    if row is None:
        raise NotFound("No such team", name=name)
    return row
