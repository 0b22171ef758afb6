"""``python -m mdnotesropcgwithoutauthscopes.testing.server``: run the reference server until stopped."""

import sys

from .command import main

sys.exit(main(prog="python -m mdnotesropcgwithoutauthscopes.testing.server"))
