"""Every Python block of the user's document (the seed, kept in tests/docs/seed/) runs as written, placeholders replaced."""

import re
from pathlib import Path

from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    USERNAME,
    form_of,
    token_body,
    token_calls,
)

# The user's own document, as the project received it (API.md: every block runs as written, with
# its placeholders replaced). Kept in the repository so that this test runs on every clone.
GUIDE = Path(__file__).resolve().parent / "seed" / "oauth-2-resource-owner-credentials-grant.md"
PLACEHOLDERS = {
    "'OAuthClientId'": repr(CLIENT_ID),
    "'OAuthClientSecret'": repr(CLIENT_SECRET),
    "'OAuthUsername'": repr(USERNAME),
    "'OAuthPassword'": repr(PASSWORD),
}


def _blocks():
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 6, "the guide's Python blocks changed; update this test's walk-through"
    for placeholder, value in PLACEHOLDERS.items():
        blocks = [block.replace(placeholder, value) for block in blocks]
    return blocks


def test_blocks_in_order_as_a_user_pastes_them(rsps, clock):
    init, fetch, refresh, store, restore, _ = _blocks()
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=3600))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    saved = []
    namespace = {"save_token_to_database": saved.append, "load_token_from_database": lambda: saved[-1]}

    exec(init, namespace)
    exec(fetch, namespace)
    client = namespace["client"]
    assert client.config.resource_owner_auth_credentials.o_auth_token.access_token == "ACCESS-TOKEN-1"
    assert form_of(token_calls(rsps)[0]) == {"grant_type": "password", "username": USERNAME, "password": PASSWORD}

    exec(refresh, namespace)  # token still valid: nothing is sent
    assert len(rsps.calls) == 1
    clock.advance(3601)
    rsps.replace("POST", TOKEN_URL, json=token_body(2))
    exec(refresh, namespace)
    assert form_of(rsps.calls[-1]) == {"grant_type": "refresh_token", "refresh_token": "REFRESH-TOKEN-1"}
    client = namespace["client"]
    assert client.http_ropcg.token.access_token == "ACCESS-TOKEN-2"

    exec(store, namespace)
    assert isinstance(saved[-1], OAuthToken) and saved[-1].access_token == "ACCESS-TOKEN-2"

    exec(restore, namespace)
    restored = namespace["client"]
    assert restored.http_ropcg.token is saved[-1]
    assert restored.service.get_status().status == "ok"
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-2"


def test_complete_example_runs_and_authorizes_the_client(rsps):
    complete = _blocks()[5]
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    namespace = {}
    exec(complete, namespace)
    client = namespace["client"]
    assert len(token_calls(rsps)) == 1
    assert client.http_ropcg.is_valid()
    client.service.get_status()
    assert len(token_calls(rsps)) == 1
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-1"


def test_complete_example_reports_a_wrong_password_through_its_handlers(rsps):
    complete = _blocks()[5]
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    namespace = {}
    exec(complete, namespace)  # the example's `except OAuthProviderException` handles it
    assert not namespace["client"].http_ropcg.is_valid()
