"""The MdNotes reference server, as ``mdnotes_server`` from a checkout: it lives in the installed package.

The server is ``mdnotesropcgwithoutauthscopes.testing.server``; this package only keeps the old
import path (``from mdnotes_server import start_server``) and ``python -m mdnotes_server`` working.
"""

import sys

from mdnotesropcgwithoutauthscopes.testing.server import *  # noqa: F403 - the re-export is the point
from mdnotesropcgwithoutauthscopes.testing.server import (
    __all__,  # noqa: F401
    command,
    config,
    endpoints,
    faults,
    handler,
    oauth,
    server,
    state,
    stats,
    tokens,
)

# ``import mdnotes_server.handler`` and friends keep working: the submodules are the real ones.
for _module in (command, config, endpoints, faults, handler, oauth, server, state, stats, tokens):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module
del _module
