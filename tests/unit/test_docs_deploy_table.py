"""Issue 22, item 7: the README's "What gets deployed" table names each scope once."""

from __future__ import annotations

import re
from pathlib import Path

README_TEXT = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_deploy_table_lists_each_scope_once():
    section = README_TEXT.split("\n### What gets deployed\n", 1)[1].split("\n\n", 1)[0]
    scopes = re.findall(r"^\| ([^|]+?) \|", section, flags=re.MULTILINE)[2:]  # after the header and its rule
    assert scopes == ["Hosting resource group (`rg-<env>`)", "Each managed subscription", "The management group"]
