"""`python -m enforcer.emulator`: the same as `python -m enforcer emulator`."""

import argparse
import sys

from enforcer.emulator.cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m enforcer.emulator", description="Run the local ARM emulator.")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
