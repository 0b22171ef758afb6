"""``python -m mdnotesropcgwithoutauthscopes``: the ``mdnotes`` command line."""

import sys

from mdnotesropcgwithoutauthscopes.cli import main

if __name__ == "__main__":
    sys.exit(main())
