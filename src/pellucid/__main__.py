"""``python -m pellucid ...``: the same command line as the ``pellucid`` script (:func:`pellucid.cli.main`)."""

import sys

from pellucid.cli import main

if __name__ == "__main__":
    sys.exit(main())
