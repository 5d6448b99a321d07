"""`python -m enforcer coverage [--json | --csv | --html FILE]`: is every AI account in scope protected?"""

from __future__ import annotations

import argparse
import sys

from enforcer.core.render import EXIT_FAILED, EXIT_OK
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
    from enforcer.usecases.coverage import CoverageError, gather_coverage

    services = build_cli_services(Settings.from_env())
    try:
        rows = gather_coverage(services)
    except CoverageError as error:
        print(f"coverage failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.close()
    generated_at = utc_now_iso()
    if args.json:
        print(coverage.to_json(rows, generated_at))
    elif args.csv:
        sys.stdout.write(coverage.to_csv(rows))
    elif args.html:
        with open(args.html, "w", encoding="utf-8") as handle:
            handle.write(coverage.to_html(rows, generated_at))
        print(f"wrote {args.html}")
    else:
        s = coverage.summary(rows)
        print(
            f"{s['protected']} of {s['accounts']} AI account(s) protected ({s['percent_protected']} %) "
            f"in {s['subscriptions']} subscription(s)"
        )
        for row in coverage.sorted_rows(rows):
            if not row.protected:
                print(f"  not protected ({row.why_not}): {row.resource_id} {row.detail}".rstrip())
    return EXIT_OK
