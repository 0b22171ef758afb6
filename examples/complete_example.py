"""The authorization guide's "Complete example", made real: fetch, store, restore, refresh, fail cleanly."""

import argparse
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # mdnotes_server is a repo-level package, not installed with the SDK

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException  # noqa: E402
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials  # noqa: E402
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (  # noqa: E402
    MdnotesropcgwithoutauthscopesClient,
)
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken  # noqa: E402

if TYPE_CHECKING:
    from mdnotes_server import MdNotesServer

DEMO = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "username": "demo@example.com",
    "password": "demo-password",
}


class TokenStore:
    """Tokens kept in a SQLite file: the guide's ``save_token_to_database`` / ``load_token_from_database``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(self.path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS oauth_token (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL)"
            )

    def save_token_to_database(self, token: OAuthToken) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(
                "INSERT OR REPLACE INTO oauth_token (id, token) VALUES (1, ?)", (json.dumps(token.to_dictionary()),)
            )

    def load_token_from_database(self) -> Optional[OAuthToken]:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT token FROM oauth_token WHERE id = 1").fetchone()
        return OAuthToken.from_dictionary(json.loads(row[0])) if row else None


def fingerprint(token: OAuthToken) -> str:
    """A short, one-way label for a token, so the narration can tell tokens apart without showing one."""
    return "#" + hashlib.sha256(token.access_token.encode()).hexdigest()[:8]


def describe(token: OAuthToken) -> str:
    left = token.expiry - time.time() if token.expiry is not None else None
    life = f"expires in {left:.1f}s" if left is not None else "no expiry"
    return f"token {fingerprint(token)} ({token.token_type}, {life}, refresh token {'present' if token.refresh_token else 'absent'})"


def step(number: int, title: str) -> None:
    print(f"\n== Step {number}: {title}")


def token_requests(server: Optional["MdNotesServer"]) -> str:
    if server is None:
        return "(token requests are counted only when the example starts its own server)"
    stats = server.stats()
    return (
        f"token requests seen by the server so far: {stats['token_requests']} "
        f"(password grants {stats['password_grants']}, refresh grants {stats['refresh_grants']})"
    )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-uri", help="use a running MdNotes server instead of starting the reference server")
    parser.add_argument("--db", type=Path, help="SQLite file for the token (default: a new temporary file)")
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
    db_path = args.db or Path(tempfile.mkdtemp(prefix="mdnotes-example-")) / "tokens.sqlite3"
    store = TokenStore(db_path)
    print(f"Tokens are stored in {db_path}")

    def on_token_update(token: OAuthToken) -> None:
        store.save_token_to_database(token)
        print(f"   o_auth_on_token_update: saved the new {describe(token)}")

    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=args.client_id,
        o_auth_client_secret=args.client_secret,
        o_auth_username=args.username,
        o_auth_password=args.password,
        o_auth_on_token_update=on_token_update,
    )
    try:
        with MdnotesropcgwithoutauthscopesClient(
            base_uri=base_uri, resource_owner_auth_credentials=credentials
        ) as client:
            step(1, "first run: no stored token, so fetch one with the password grant and save it")
            previous_token = store.load_token_from_database()
            print(f"   load_token_from_database() -> {previous_token}")
            token = client.http_ropcg.fetch_token()
            store.save_token_to_database(token)
            print(f"   fetched and saved {describe(token)}")
            print(f"   {token_requests(server)}")

            step(2, "second run: restore the stored token; no token request is needed")
            stored = store.load_token_from_database()
            if stored is None:
                print("   unexpected: the database holds no token")
                return 1
            restored_credentials = client.config.resource_owner_auth_credentials.clone_with(o_auth_token=stored)
            config = client.config.clone_with(resource_owner_auth_credentials=restored_credentials)
        with MdnotesropcgwithoutauthscopesClient(config=config) as client:
            status = client.service.get_status()
            print(
                f"   GET /status -> app={status.app!r} status={status.status!r} users={status.users} notes={status.notes}"
            )
            print(f"   {token_requests(server)} (unchanged: the stored token was used)")

            step(3, "the token expires; the SDK refreshes it by itself and the callback saves the new one")
            wait = max(0.0, (stored.expiry or time.time()) - time.time()) + 0.2
            print(f"   waiting {wait:.1f}s for the token to expire...")
            time.sleep(wait)
            print(f"   is_token_expired() -> {client.http_ropcg.is_token_expired()}")
            user = client.user.get_user()
            print(f"   GET /user -> id={user.id} name={user.name!r} email={user.email!r}")
            saved = store.load_token_from_database()
            if saved is None:
                print("   unexpected: the database lost the token")
                return 1
            print(f"   the database now holds {describe(saved)}; it replaced {fingerprint(stored)}")
            print(f"   {token_requests(server)}")

        step(4, "a wrong password is reported as an OAuthProviderException")
        wrong = credentials.clone_with(o_auth_password="not-the-password", o_auth_on_token_update=None)
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
        if server is not None:
            server.stop()
    print("\nDone: the SDK fetched, stored, restored and refreshed a token, and reported a bad password.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
