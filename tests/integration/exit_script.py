"""Run as a script by test_fork_and_exit: a client whose background renewal hangs, then the script ends.

Usage: ``python exit_script.py BASE_URI close|keep``. The token is valid but in its renewal window,
so the one API call starts a background renewal; the token endpoint at BASE_URI never answers.
Prints ``END <unix time>`` as its last statement runs; the test measures how long exit takes after.
"""

import sys
import threading
import time

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken


def main(base_uri: str, close: bool) -> None:
    token = OAuthToken.from_dictionary(
        {
            "access_token": "ACCESS",
            "token_type": "Bearer",
            "refresh_token": "REFRESH",
            "expires_in": 100,
            "expiry": int(time.time()) + 5,  # valid for 5 s more of its 100: deep in its renewal window
        }
    )
    creds = ResourceOwnerAuthCredentials(o_auth_client_id="client", o_auth_client_secret="secret", o_auth_token=token)
    client = MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=creds)
    client.service.get_status()  # answered at once; the renewal goes on in the background
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(t.name == "mdnotes-token-renewal" for t in threading.enumerate()):
        time.sleep(0.01)
    time.sleep(0.3)  # the refresh request reaches the server, which never answers it
    if close:
        client.close()
    print("END", repr(time.time()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "close")
