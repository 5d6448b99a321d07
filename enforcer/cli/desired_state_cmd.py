"""`python -m enforcer desired-state check FILE... [--json]`: is a desired-state document usable? (issue 20)

Every problem on its own line as FILE:LINE:COLUMN: message (schema errors, unknown components, empty rules,
conflicting rules); exit 2 when any file has one. `make check` runs it on examples/desired-state/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from enforcer.core.render import EXIT_OK, EXIT_USAGE
from enforcer.core.settings import ConfigError, Settings
from enforcer.core.text import escape_control


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("desired-state", help="check a desired-state document (ENFORCER_DESIRED_STATE)")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="schema, unknown components, empty and conflicting rules; exit 2 on any")
    check.add_argument("files", nargs="+", metavar="FILE", help="a YAML or JSON document")
    check.add_argument("--json", action="store_true", help="print one JSON object per run: files and problems")
    check.set_defaults(func=cmd_check)


def _check_one(path: Path) -> dict[str, Any]:
    from enforcer.adapters.desired_state_file import read_document_file
    from enforcer.core.desired_state_loader import DesiredStateError

    # The document is checked against the built-in defaults: its problems do not depend on this shell's settings.
    try:
        document = read_document_file(path, Settings.from_env({}))
    except DesiredStateError as error:
        return {"file": str(path), "ok": False, "problems": [p.to_dict() for p in error.problems]}
    except ConfigError as error:
        return {"file": str(path), "ok": False, "problems": [{"line": 0, "column": 0, "message": str(error)}]}
    return {
        "file": str(path),
        "ok": True,
        "hash": document.hash,
        "rules": [{"name": r.name, "match": r.selector.describe(), "sets": dict(r.values)} for r in document.rules],
        "problems": [],
    }


def cmd_check(args: argparse.Namespace) -> int:
    results = [_check_one(Path(f)) for f in args.files]
    if args.json:
        print(json.dumps({"ok": all(r["ok"] for r in results), "files": results}, indent=2))
    for result in results:
        if args.json:
            continue
        if result["ok"]:
            print(f"{escape_control(result['file'])}: ok, {len(result['rules'])} rule(s), hash {result['hash']}")
        for problem in result["problems"]:
            where = f":{problem['line']}:{problem['column']}" if problem["line"] else ""
            print(f"{escape_control(result['file'])}{where}: {escape_control(problem['message'])}", file=sys.stderr)
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_USAGE
