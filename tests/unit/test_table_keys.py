"""Issue 22, item 2: `table_key` is the one place a value from outside becomes a Table key: valid by the Table
service's rules ('/', '\\', '#', '?', U+0000-U+001F, U+007F-U+009F refused; at most 1 KiB), one-way, collision-free."""

from __future__ import annotations

import re

import pytest

from enforcer.core.records import HASHED_KEY_PREFIX, table_key

REFUSED = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
VALUES = [
    "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f",
    "sweep",
    "",
    "-",
    "a/b",
    "a_b",
    "a\\b",
    "a#b",
    "a?b",
    "a\tb",
    "a\nb",
    "a\x00b",
    "a\x7fb",
    "a\x85b",
    "a\x9fb",
    "a\ud800b",
    "données 日本 🙂",
    "x" * 512,
    "x" * 513,
    "é" * 300,
    HASHED_KEY_PREFIX + "0" * 64,
]


@pytest.mark.parametrize("value", VALUES)
def test_every_key_is_valid_for_the_table_service(value: str) -> None:
    key = table_key(value)
    assert key and not REFUSED.search(key)
    assert len(key.encode("utf-8")) <= 1024
    assert table_key(value) == key  # the same value always gets the same key


def test_distinct_values_never_share_a_key() -> None:
    keys = [table_key(v) for v in VALUES]
    assert len(set(keys)) == len(VALUES)


def test_values_the_rules_accept_are_kept_as_they_are() -> None:
    for value in ("5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f", "sweep", "données 日本 🙂", "x" * 512):
        assert table_key(value) == value


def test_a_value_posing_as_a_hashed_key_is_hashed_too() -> None:
    posing = table_key("a/b")
    assert table_key(posing) != posing
