"""``python -m exporter`` and the ``digest-export`` console script.

The program's modules are imported here, inside :func:`main`, not at the top: a Ctrl-C in the
tenth of a second they take to load (regular expressions compiled, libraries imported) is then
caught and said as click says one later ("Aborted!", exit 1), never a Python traceback."""

from __future__ import annotations

import sys


def main(prog_name: str | None = None) -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    run(prog_name=prog_name)


if __name__ == "__main__":
    main(prog_name="digest-export")
