"""Entry point: `python3 -I -S <dir>/nlsim/__main__.py ARGS` (the lab's way) or `python -m lab.sim.nlsim ARGS`.

Under `-I` neither the script's directory nor the current directory is on sys.path, so when run as a
script this puts the package's parent directory there and imports the package by its directory name.
"""

import importlib
import os
import sys


def _run() -> int:
    pkg = __package__
    if not pkg:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.dirname(here))
        pkg = os.path.basename(here)
    main = importlib.import_module(pkg + ".cli").main
    return int(main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(_run())
