"""`python -m localdev.emulator`: the same as `python -m localdev emulator`."""

import argparse
import sys

from localdev.emulator.cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.emulator", description="Run the local ARM emulator.")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
