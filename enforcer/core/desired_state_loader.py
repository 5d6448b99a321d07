"""Loading a desired-state document (issue 20): YAML or JSON text to a checked Document, every problem with its
line and column (yaml's composed nodes give each value's place; jsonschema's error paths are mapped to them).

Pure: the composition root reads the file; this takes its text.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jsonschema
import yaml

from enforcer.core.desired_state import (
    ACCOUNT_FIELD,
    FIELDS,
    MODE_FIELD,
    Document,
    Level,
    Rule,
    Selector,
    build_document,
)
from enforcer.core.settings import ConfigError, Settings

SCHEMA_FILE: Final = "desired_state.schema.json"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, where it is (1-based line and column; 0 when not known)."""

    message: str
    line: int = 0
    column: int = 0

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}:{self.column}" if self.line else source
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


class DesiredStateError(ConfigError):
    """The document cannot be used; one problem per finding, each with its line and column."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("; ".join(p.render(source) for p in problems))


# --- loading -------------------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema shipped in the package (enforcer/core/desired_state.schema.json)."""
    text = importlib.resources.files("enforcer.core").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# Where a value sits in the document: mapping keys and sequence indexes from the root.
NodePath = tuple[str | int, ...]


@dataclass
class _Marks:
    """Where each value (and each mapping key) of the document starts, by its path from the root."""

    values: dict[NodePath, yaml.Mark] = field(default_factory=dict)
    keys: dict[NodePath, yaml.Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def at(self, path: NodePath, *, key: bool = False) -> tuple[int, int]:
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            mark = table.get(path[:end]) or self.values.get(path[:end])
            if mark is not None:
                return mark.line + 1, mark.column + 1
        return 0, 0


def _to_data(node: yaml.Node, path: NodePath, marks: _Marks) -> Any:
    """A composed YAML node as plain data. Every scalar stays text: YAML 1.1 would read `on` as true, and a
    component set `on` must stay the word `on`; a JSON document is read by the same loader (JSON is YAML)."""
    marks.values[path] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in out:
                mark = key_node.start_mark
                marks.problems.append(Problem(f"duplicate key {key!r}", mark.line + 1, mark.column + 1))
                continue
            marks.keys[(*path, key)] = key_node.start_mark
            out[key] = _to_data(value_node, (*path, key), marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, (*path, i), marks) for i, item in enumerate(node.value)]
    return str(node.value)


def _schema_problem(error: jsonschema.ValidationError, marks: _Marks) -> Problem:
    path: NodePath = tuple(error.absolute_path)
    where = "/".join(str(p) for p in path) or "(document)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        rule_schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = sorted(rule_schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        line, column = marks.at((*path, extra[0]), key=True) if extra else marks.at(path)
        what = "component" if path and path[-1] == "components" else "field"
        return Problem(
            f"unknown {what} {', '.join(repr(e) for e in extra)} in {where}; allowed: {', '.join(allowed)}",
            line,
            column,
        )
    line, column = marks.at(path)
    if error.validator in ("minProperties", "maxProperties") and path and path[-1] == "match":
        kinds = ", ".join(schema()["$defs"]["match"]["properties"])
        return Problem(f"{where}: a rule matches on exactly one of {kinds}", line, column)
    return Problem(f"{where}: {error.message}", line, column)


def _values(section: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    if "mode" in section:
        values[MODE_FIELD] = section["mode"]
    for key, value in (section.get("components") or {}).items():
        values[f"components.{key}"] = value
    if "account_protection" in section:
        values[ACCOUNT_FIELD] = section["account_protection"]
    return values


def _selector(match: Mapping[str, Any]) -> Selector:
    if "subscriptions" in match:
        return Selector(Level.SUBSCRIPTION, subscriptions=frozenset(s.lower() for s in match["subscriptions"]))
    if "management_group" in match:
        return Selector(Level.MANAGEMENT_GROUP, key=match["management_group"].lower())
    kind = Level.ACCOUNT_TAG if "account_tag" in match else Level.TAG
    text = match["account_tag" if kind is Level.ACCOUNT_TAG else "tag"]
    key, sep, value = text.partition("=")
    return Selector(kind, key=key.strip().lower(), value=value if sep else None)


def _overlap(a: Selector, b: Selector) -> str | None:
    """The scope two same-level selectors both name in the document alone (no facts needed), or None."""
    if a.kind is not b.kind:
        return None
    if a.kind is Level.SUBSCRIPTION:
        common = sorted(a.subscriptions & b.subscriptions)
        return f"subscription {common[0]}" if common else None
    if a.key != b.key:
        return None
    if a.kind is Level.MANAGEMENT_GROUP:
        return f"management group {a.key}"
    if a.value is None or b.value is None or a.value == b.value:
        # `key` and `key=value` both match a subscription tagged key=value.
        return a.describe() if a.value is not None else b.describe()
    return None


def _disagreement(a: Rule, b: Rule) -> tuple[str, str, str] | None:
    for name in FIELDS:
        if name in a.values and name in b.values and a.values[name] != b.values[name]:
            return name, a.values[name], b.values[name]
    return None


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_document(text: str, source: str, settings: Settings) -> Document:
    """Check and load a document (YAML or JSON). Every problem is collected, each with its line and column;
    any problem raises DesiredStateError listing them all."""
    marks = _Marks()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise DesiredStateError(source, [Problem(f"not valid YAML or JSON: {error.problem}", line, column)]) from None
    if node is None:
        raise DesiredStateError(source, [Problem("the document is empty; it needs at least `version: 1`", 1, 1)])
    data = _to_data(node, (), marks)
    problems = list(marks.problems)
    validator = jsonschema.Draft202012Validator(schema())
    problems += [_schema_problem(e, marks) for e in sorted(validator.iter_errors(data), key=lambda e: e.path)]
    if problems:
        raise DesiredStateError(source, problems)
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for i, raw in enumerate(data.get("rules") or []):
        line, column = marks.at(("rules", i))
        rule = Rule(raw["name"], _selector(raw["match"]), _values(raw["set"]), line, raw.get("description", ""))
        if not rule.values:
            problems.append(
                Problem(
                    f"rule {rule.name!r} sets nothing; give `set` a mode, a component or account_protection",
                    line,
                    column,
                )
            )
        if rule.selector.kind is Level.ACCOUNT_TAG and set(rule.values) - {ACCOUNT_FIELD}:
            problems.append(
                Problem(
                    f"rule {rule.name!r} matches an account tag, so it may set only account_protection", line, column
                )
            )
        if rule.name in seen:
            problems.append(
                Problem(f"rule name {rule.name!r} is used twice (first at line {seen[rule.name].line})", line, column)
            )
        for other in rules:
            scope = _overlap(other.selector, rule.selector)
            clash = _disagreement(other, rule) if scope else None
            if scope and clash:
                problems.append(
                    Problem(
                        f"rules {other.name!r} (line {other.line}) and {rule.name!r} both match {scope} at the same "
                        f"precedence level and disagree on {clash[0]} ({clash[1]} vs {clash[2]})",
                        line,
                        column,
                    )
                )
        seen.setdefault(rule.name, rule)
        rules.append(rule)
    if problems:
        raise DesiredStateError(source, problems)
    return build_document(settings, _values(data.get("default") or {}), tuple(rules), document_hash(text), source)
