"""Subcommands beyond enforce/emulator/demo, kept apart so the core CLI stays small."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the status, handle-event, publish-subscription-created and sweep commands."""
