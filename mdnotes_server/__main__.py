"""``python -m mdnotes_server``: run the reference server until stopped."""

import sys

from mdnotesropcgwithoutauthscopes.testing.server.command import main

sys.exit(main())
