"""Just enough Bicep reading for the infra contract tests: declarations, object entries, literal values.

The Bicep CLI cannot run here, so the tests read the source text. Anything these helpers cannot evaluate
raises `NotLiteral`, which makes the calling test fail rather than pass on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPENERS = {"{": "}", "[": "]", "(": ")"}


class NotLiteral(ValueError):
    """The expression is not something the tests can evaluate (interpolation, resource property, ...)."""


def read(relative: str) -> str:
    return strip_comments((INFRA / relative).read_text(encoding="utf-8"))


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal starting at text[start] (a quote)."""
    if text.startswith("'''", start):
        end = text.find("'''", start + 3)
        if end < 0:
            raise ValueError("unterminated multi-line string")
        return end + 3
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "'":
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def strip_comments(text: str) -> str:
    """Remove // and /* */ comments, leaving string literals alone."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = len(text) if close < 0 else close + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def matching_close(text: str, open_index: int) -> int:
    """Index of the bracket closing the one at text[open_index]."""
    stack = [_OPENERS[text[open_index]]]
    i = open_index + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i = _string_end(text, i)
            continue
        if ch in _OPENERS:
            stack.append(_OPENERS[ch])
        elif ch in "}])":
            if ch != stack.pop():
                raise ValueError(f"unbalanced {ch!r} at {i}")
            if not stack:
                return i
        i += 1
    raise ValueError("unbalanced brackets")


def _split_top_level(body: str, separators: str) -> list[str]:
    """Split on separators that are not inside brackets or strings; drop empty parts."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "'":
            end = _string_end(body, i)
            current.append(body[i:end])
            i = end
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in "}])":
            depth -= 1
        if depth == 0 and ch in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def object_entries(block: str) -> dict[str, str]:
    """Entries of an object literal `{ ... }` (braces included): key -> raw value text."""
    block = block.strip()
    if not (block.startswith("{") and block.endswith("}")):
        raise NotLiteral(f"not an object literal: {block[:40]!r}")
    entries: dict[str, str] = {}
    for line in _split_top_level(block[1:-1], "\n,"):
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"not a key: value entry: {line!r}")
        key = key.strip()
        entries[str(literal(key, {})) if key.startswith("'") else key] = value.strip()
    return entries


def call_arguments(expr: str, function: str) -> list[str]:
    """Arguments of `function(...)` when expr is exactly that call."""
    expr = expr.strip()
    if not expr.startswith(function + "("):
        raise NotLiteral(f"not a {function}() call: {expr[:40]!r}")
    open_index = len(function)
    if matching_close(expr, open_index) != len(expr) - 1:
        raise NotLiteral(f"not a single {function}() call: {expr[:40]!r}")
    return _split_top_level(expr[open_index + 1 : -1], ",")


@dataclass(frozen=True)
class Declarations:
    """`param` and `var` declarations of one file: name -> raw expression (a param's default, if any)."""

    params: dict[str, str | None]
    param_types: dict[str, str]
    variables: dict[str, str]

    def env(self) -> dict[str, str]:
        """Names whose value is a known expression (vars, and params with a default)."""
        known = {name: expr for name, expr in self.params.items() if expr is not None}
        known.update(self.variables)
        return known


_DECLARATION = re.compile(r"^(param|var)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:([A-Za-z]+)\s*)?(=)?", re.MULTILINE)


def _expression_at(text: str, start: int) -> str:
    """The expression starting at text[start]: up to the end of the line, or of the brackets it opens."""
    i = start
    while i < len(text) and text[i] in " \t":
        i += 1
    end = i
    while end < len(text) and text[end] != "\n":
        if text[end] == "'":
            end = _string_end(text, end)
            continue
        if text[end] in _OPENERS:
            end = matching_close(text, end) + 1
            continue
        end += 1
    return text[i:end].strip()


def declarations(text: str) -> Declarations:
    params: dict[str, str | None] = {}
    param_types: dict[str, str] = {}
    variables: dict[str, str] = {}
    for match in _DECLARATION.finditer(text):
        kind, name, type_name, equals = match.groups()
        expr = _expression_at(text, match.end()) if equals else None
        if kind == "param":
            params[name] = expr
            param_types[name] = type_name or ""
        else:
            if expr is None:
                raise ValueError(f"var {name} without a value")
            variables[name] = expr
    return Declarations(params, param_types, variables)


def literal(expr: str, env: Mapping[str, str], _depth: int = 0) -> object:
    """Value of a literal expression: strings without interpolation, ints, bools, arrays, objects,
    names bound in env, and concat() of arrays. Anything else raises NotLiteral."""
    if _depth > 20:
        raise NotLiteral("reference cycle")
    expr = expr.strip()
    if expr.startswith("'"):
        if _string_end(expr, 0) != len(expr):
            raise NotLiteral(f"not a single string: {expr!r}")
        if expr.startswith("'''"):
            return expr[3:-3]
        body = expr[1:-1]
        if "${" in body.replace("\\${", ""):
            raise NotLiteral(f"interpolated string: {expr!r}")
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    if re.fullmatch(r"-?\d+", expr):
        return int(expr)
    if expr in ("true", "false"):
        return expr == "true"
    if expr.startswith("[") and matching_close(expr, 0) == len(expr) - 1:
        return [literal(item, env, _depth + 1) for item in _split_top_level(expr[1:-1], "\n,")]
    if expr.startswith("{") and matching_close(expr, 0) == len(expr) - 1:
        return {key: literal(value, env, _depth + 1) for key, value in object_entries(expr).items()}
    if expr.startswith("concat("):
        items: list[object] = []
        for argument in call_arguments(expr, "concat"):
            value = literal(argument, env, _depth + 1)
            if not isinstance(value, list):
                raise NotLiteral(f"concat() of a non-array: {argument!r}")
            items.extend(value)
        return items
    if _IDENT.fullmatch(expr) and expr in env:
        return literal(env[expr], env, _depth + 1)
    raise NotLiteral(f"cannot evaluate {expr!r}")


@dataclass(frozen=True)
class Block:
    """A `resource` or `module` declaration: symbolic name, type or path, and its body `{ ... }`."""

    kind: str  # "resource" | "module"
    name: str
    target: str  # resource type@version, or module path
    body: str
    preceding_text: str  # text before the declaration (for the comment that names a role)
    existing: bool = False  # `resource x '...' existing = {...}`: a reference, not a deployment


_BLOCK = re.compile(r"^(resource|module)\s+([A-Za-z_][A-Za-z0-9_]*)\s+'([^']+)'([^=\n]*)=\s*", re.MULTILINE)


def blocks(raw_text: str) -> list[Block]:
    """Resource and module declarations in the raw (comment-preserving) text of a file."""
    text = raw_text
    found: list[Block] = []
    for match in _BLOCK.finditer(text):
        brace = text.find("{", match.end())
        if brace < 0:
            raise ValueError(f"{match.group(2)}: no body")
        body = text[brace : matching_close(strip_line_comments_keep_length(text), brace) + 1]
        existing = match.group(4).split() == ["existing"]
        found.append(Block(match.group(1), match.group(2), match.group(3), body, text[: match.start()], existing))
    return found


def strip_line_comments_keep_length(text: str) -> str:
    """Comments replaced by spaces (same length), so indices stay valid for bracket matching."""
    out = list(text)
    i = 0
    while i < len(text):
        if text[i] == "'":
            i = _string_end(text, i)
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            end = len(text) if newline < 0 else newline
            out[i:end] = " " * (end - i)
            i = end
        else:
            i += 1
    return "".join(out)


def entry_value(block_body: str, key: str) -> str:
    """Raw value of a top-level entry of a block body (a resource/module body or any object)."""
    entries = object_entries(strip_comments(block_body))
    if key not in entries:
        raise KeyError(key)
    return entries[key]


def interpolate(expr: str, values: Mapping[str, str]) -> str:
    """Value of a string literal with `${...}` holes, each hole's expression text looked up in values.

    A hole whose expression is not in values raises NotLiteral, so a test never compares against a guess."""
    expr = expr.strip()
    if not expr.startswith("'") or expr.startswith("'''") or _string_end(expr, 0) != len(expr):
        raise NotLiteral(f"not a single-line string literal: {expr!r}")
    body = expr[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("\\", i):
            out.append(body[i + 1])
            i += 2
        elif body.startswith("${", i):
            close = matching_close(body, i + 1)
            hole = body[i + 2 : close].strip()
            if hole not in values:
                raise NotLiteral(f"no value for ${{{hole}}} in {expr!r}")
            out.append(values[hole])
            i = close + 1
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class ParamHead:
    """What sits above one `param`: its decorators (name -> raw argument text) and its comment lines."""

    decorators: dict[str, str]
    comments: list[str]


def param_heads(raw_text: str) -> dict[str, ParamHead]:
    """For each `param`, the decorators and `//` comments of the lines above it, up to the previous blank line."""
    lines = raw_text.splitlines()
    heads: dict[str, ParamHead] = {}
    for index, line in enumerate(lines):
        declared = re.match(r"param\s+([A-Za-z_][A-Za-z0-9_]*)\b", line)
        if not declared:
            continue
        start = index
        while start > 0 and lines[start - 1].strip():
            start -= 1
        head = lines[start:index]
        comments = [h.strip()[2:].strip() for h in head if h.strip().startswith("//")]
        code = "\n".join(h for h in head if not h.strip().startswith("//"))
        decorators: dict[str, str] = {}
        for match in re.finditer(r"@([A-Za-z]+)\(", code):
            close = matching_close(code, match.end() - 1)
            decorators[match.group(1)] = code[match.end() : close].strip()
        heads[declared.group(1)] = ParamHead(decorators, comments)
    return heads


@dataclass(frozen=True)
class SystemTopic:
    """A system topic the Bicep creates: file, symbolic name, and the raw `source` and `topicType` expressions."""

    path: str
    name: str
    source: str
    topic_type: str


def system_topics() -> list[SystemTopic]:
    """Every Microsoft.EventGrid/systemTopics resource declared (not `existing`) under infra/."""
    found = []
    for path in sorted(INFRA.rglob("*.bicep")):
        for block in blocks(path.read_text(encoding="utf-8")):
            if block.target.startswith("Microsoft.EventGrid/systemTopics@") and not block.existing:
                properties = entry_value(block.body, "properties")
                found.append(
                    SystemTopic(
                        path.relative_to(INFRA).as_posix(),
                        block.name,
                        entry_value(properties, "source"),
                        str(literal(entry_value(properties, "topicType"), {})),
                    )
                )
    return found


def render(expr: str, values: Mapping[str, str]) -> str:
    """An expression that is one of values' keys, or a string literal whose holes all are (see interpolate)."""
    expr = expr.strip()
    return values[expr] if expr in values else interpolate(expr, values)
