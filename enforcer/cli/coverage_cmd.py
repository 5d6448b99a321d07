"""`python -m enforcer coverage [--json | --csv | --html FILE]`: is every AI account in scope protected?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from enforcer.core.render import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from enforcer.core.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    coverage = commands.add_parser(
        "coverage", help="every AI account in scope: plan, own Defender for AI setting, protected or why not"
    )
    output = coverage.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON (summary and accounts)")
    output.add_argument("--csv", action="store_true", help="print one CSV row per account")
    output.add_argument("--html", metavar="FILE", help="write one self-contained HTML page to FILE")
    coverage.set_defaults(func=cmd_coverage)


def cmd_coverage(args: argparse.Namespace) -> int:
    from enforcer.composition import build_cli_services
    from enforcer.core import coverage
    from enforcer.core.models import utc_now_iso
    from enforcer.core.text import escape_control
    from enforcer.usecases.coverage import CoverageError, gather_coverage_in_scope

    html_path = Path(args.html) if args.html else None
    if html_path is not None and not _can_write(html_path):
        return EXIT_USAGE
    services = build_cli_services(Settings.from_env())
    try:
        rows, visible = gather_coverage_in_scope(services)
    except CoverageError as error:
        print(f"coverage failed: {escape_control(str(error))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.close()
    generated_at = utc_now_iso()
    if args.json:
        print(coverage.to_json(rows, generated_at, visible))
    elif args.csv:
        sys.stdout.write(coverage.to_csv(rows))
    elif html_path is not None:
        try:
            html_path.write_text(coverage.to_html(rows, generated_at, visible), encoding="utf-8")
        except OSError as error:
            print(
                f"cannot write {html_path}: {error.strerror}. Fix: choose a writable FILE for --html", file=sys.stderr
            )
            return EXIT_FAILED
        print(f"wrote {html_path}")
    else:
        s = coverage.summary(rows, visible)
        if not rows:
            print(s["note"])
            return EXIT_OK
        print(
            f"{s['protected']} of {s['accounts']} AI account(s) protected ({s['percent_protected']} %) "
            f"in {s['subscriptions']} subscription(s)"
        )
        for row in coverage.sorted_rows(rows):
            if not row.protected:
                # Ids and details come from outside: control characters shown escaped, one account per line.
                line = f"  not protected ({row.why_not}): {row.resource_id} {row.detail}".rstrip()
                print(escape_control(line))
    return EXIT_OK


def _can_write(path: Path) -> bool:
    """Create the folder of an --html FILE (e.g. `out/`) before any Azure call; say why not when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(
            f"cannot create the folder of {path}: {error.strerror}. Fix: choose a writable FILE for --html",
            file=sys.stderr,
        )
        return False
    return True
