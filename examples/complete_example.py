"""The authorization guide's "Complete example", made real: sign in, share, restore, refresh, fail cleanly."""

import argparse
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # mdnotes_server is a repo-level package, not installed with the SDK

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException  # noqa: E402
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore  # noqa: E402
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (  # noqa: E402
    MdnotesropcgwithoutauthscopesClient,
)
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken  # noqa: E402

DEMO = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "username": "demo@example.com",
    "password": "demo-password",
}


def fingerprint(token: OAuthToken) -> str:
    """A short, one-way label for a token, so the narration can tell tokens apart without showing one."""
    return "#" + hashlib.sha256(str(token.access_token).encode()).hexdigest()[:8]


def describe(token: OAuthToken) -> str:
    left = token.expiry - time.time() if token.expiry is not None else None
    life = f"expires in {left:.1f}s" if left is not None else "no expiry"
    return f"token {fingerprint(token)} ({token.token_type}, {life}, refresh token {'present' if token.refresh_token else 'absent'})"


def step(number: int, title: str) -> None:
    print(f"\n== Step {number}: {title}")


def token_requests(server: Optional[object]) -> str:
    if server is None:
        return "(token requests are counted only when the example starts its own server)"
    stats = server.stats()  # type: ignore[attr-defined]
    return (
        f"token requests seen by the server so far: {stats['token_requests']} "
        f"(password grants {stats['password_grants']}, refresh grants {stats['refresh_grants']})"
    )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-uri", help="use a running MdNotes server instead of starting the reference server")
    parser.add_argument("--db", type=Path, help="SQLite file for the token (kept; default: a temporary file, removed)")
    parser.add_argument(
        "--token-lifetime", type=float, default=2.0, help="token lifetime of the started server, seconds"
    )
    for name, value in DEMO.items():
        parser.add_argument("--" + name.replace("_", "-"), default=value)
    args = parser.parse_args(argv)

    server = None
    if args.base_uri:
        base_uri = args.base_uri
    else:
        from mdnotes_server import start_server

        server = start_server(
            port=0,
            token_lifetime=args.token_lifetime,
            client_id=args.client_id,
            client_secret=args.client_secret,
            username=args.username,
            password=args.password,
        )
        base_uri = server.base_uri
        print(f"Started the MdNotes reference server at {base_uri} (token lifetime {args.token_lifetime}s)")
    temporary: Optional[Path] = None
    if args.db:
        db_path: Path = args.db
    else:
        temporary = Path(tempfile.mkdtemp(prefix="mdnotes-example-"))
        db_path = temporary / "tokens.sqlite3"
    store = SQLiteTokenStore(db_path)

    def on_token_update(token: OAuthToken) -> None:
        # The callback of the authorization guide still works beside the store: here it only reports.
        print(f"   o_auth_on_token_update: the SDK obtained {describe(token)} (the store already holds it)")

    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=args.client_id,
        o_auth_client_secret=args.client_secret,
        o_auth_username=args.username,
        o_auth_password=args.password,
        o_auth_on_token_update=on_token_update,
        o_auth_token_store=store,
    )
    try:
        with (
            MdnotesropcgwithoutauthscopesClient(
                base_uri=base_uri, resource_owner_auth_credentials=credentials
            ) as first,
            MdnotesropcgwithoutauthscopesClient(
                base_uri=base_uri, resource_owner_auth_credentials=credentials
            ) as second,
        ):
            mode = stat.S_IMODE(os.stat(db_path).st_mode)
            print(f"Tokens are stored in {db_path} (mode {mode:o}: readable by its owner only)")
            key = first.http_ropcg.token_store_key
            assert key is not None

            step(1, "first run: the store is empty, so the first call signs in with the password grant")
            print(f"   store.load(key) -> {store.load(key)}")
            status = first.service.get_status()
            print(f"   GET /status -> app={status.app!r} status={status.status!r} users={status.users}")
            token = first.http_ropcg.token
            assert token is not None
            print(f"   the client uses {describe(token)}; the store saved it before the call went on")
            print(f"   {token_requests(server)}")

            step(2, "another process or a restart: a new client with the same store uses the stored token")
            user = second.user.get_user()
            print(f"   GET /user -> id={user.id} name={user.name!r} email={user.email!r}")
            shared = second.http_ropcg.token
            assert shared is not None
            print(f"   it adopted {describe(shared)}: the same token, no token request")
            print(f"   {token_requests(server)} (unchanged)")

            step(3, "the token expires; one client refreshes it under the store's lock, the other adopts it")
            if server is None:
                print(
                    "   skipped: with --base-uri the token lives as long as that server says "
                    f"({describe(shared)}); waiting it out would take too long. Run without --base-uri "
                    "to see this step with a short-lived token."
                )
            else:
                wait = max(0.0, (shared.expiry or time.time()) - time.time()) + 0.3
                print(f"   waiting {wait:.1f}s for the token to expire...")
                time.sleep(wait)
                print(f"   is_token_expired() -> {second.http_ropcg.is_token_expired()}")
                second.service.get_status()
                first.user.get_user()
                renewed = second.http_ropcg.token
                assert renewed is not None
                print(f"   both clients now use {describe(renewed)}; it replaced {fingerprint(shared)}")
                print(f"   the store holds {fingerprint(store.load(key) or renewed)}, the token to restore next time")
                print(f"   {token_requests(server)}")
                print(
                    "   save client.http_ropcg.token (or what o_auth_on_token_update receives), never "
                    "client.config.resource_owner_auth_credentials.o_auth_token: that is the token the "
                    "client was built with, spent once the SDK refreshed it"
                )

        step(4, "a wrong password is reported as an OAuthProviderException")
        wrong = credentials.clone_with(
            o_auth_password="not-the-password", o_auth_on_token_update=None, o_auth_token_store=None
        )
        with MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=wrong) as client:
            try:
                client.http_ropcg.fetch_token()
                print("   unexpected: the server accepted a wrong password")
                return 1
            except OAuthProviderException as ex:
                print(
                    f"   {type(ex).__name__}: HTTP {ex.response_code}, error={ex.error!r}, "
                    f"error_description={ex.error_description!r}"
                )
    except APIException as ex:
        print(f"The example failed: {ex}")
        return 1
    finally:
        store.close()
        if server is not None:
            server.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
            print(f"\nRemoved the temporary token file {db_path}")
        else:
            print(f"\nThe token file {db_path} stays (it holds a live token: keep it private, or delete it)")
    print("Done: the SDK signed in, shared, restored and refreshed a token, and reported a bad password.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
