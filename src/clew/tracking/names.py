"""Friendly generated run names (``brisk-otter-417``) for runs created without one."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "amber",
    "brisk",
    "calm",
    "dapper",
    "eager",
    "fuzzy",
    "gentle",
    "hardy",
    "keen",
    "lucid",
    "mellow",
    "nimble",
    "placid",
    "quiet",
    "rustic",
    "sturdy",
    "tidy",
    "vivid",
)
NOUNS = (
    "otter",
    "heron",
    "lynx",
    "badger",
    "falcon",
    "marten",
    "ibis",
    "wren",
    "yak",
    "koala",
    "gecko",
    "puffin",
    "tapir",
    "newt",
    "bison",
    "crane",
    "stoat",
    "vole",
)


def generated_run_name() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}-{secrets.randbelow(1000)}"
