"""The auth manager with a token store (API.md section 6): the key, adopting, refreshing and saving, a failing store."""

import json
import logging

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials, token_store_key
from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore, TokenStore
from tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    USERNAME,
    form_of,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)


class BrokenStore(TokenStore):
    """A store whose backend is down."""

    def load(self, key):
        raise ConnectionError("redis://:hunter2@cache:6379 unreachable")

    def save(self, key, token):
        raise ConnectionError("down")

    def delete(self, key):
        raise ConnectionError("down")

    def lock(self, key, timeout):
        raise ConnectionError("down")


def test_store_key_is_a_hash_of_server_client_and_user():
    key = token_store_key(TOKEN_URL, CLIENT_ID, USERNAME)
    assert key.startswith("token:") and len(key) == len("token:") + 64
    assert USERNAME not in key and CLIENT_ID not in key
    assert key != token_store_key(TOKEN_URL, CLIENT_ID, "bob@example.com")
    assert key != token_store_key(TOKEN_URL.replace("localhost", "127.0.0.1"), CLIENT_ID, USERNAME)


def test_clients_sharing_a_store_share_one_token(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    seen = []
    store = MemoryTokenStore()
    first = make_client(make_credentials(o_auth_token_store=store, o_auth_on_token_update=seen.append))
    second = make_client(make_credentials(o_auth_token_store=store, o_auth_on_token_update=seen.append))
    first.service.get_status()
    second.service.get_status()
    assert len(token_calls(rsps)) == 1
    assert [c.request.headers["Authorization"] for c in rsps.calls if c.request.url == STATUS_URL] == [
        "Bearer ACCESS-TOKEN-1"
    ] * 2
    assert len(seen) == 1  # not called for the token the second client adopted
    stored = store.load(first.http_ropcg.token_store_key)
    assert stored.access_token == "ACCESS-TOKEN-1"
    text = json.dumps(stored.to_dictionary())
    for secret in (PASSWORD, CLIENT_SECRET, USERNAME, CLIENT_ID):
        assert secret not in text


def test_renewal_reads_the_store_again_and_adopts_a_token_another_process_saved(rsps, clock):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_token_store=store))
    newer = stored_token(7, expires_in=3600)
    store.save(client.http_ropcg.token_store_key, newer)
    clock.advance(61)
    client.service.get_status()
    assert token_calls(rsps) == []
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-7"


def test_renewal_refreshes_with_the_stored_refresh_token_and_saves_the_result(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(9))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_token_store=store))
    store.save(client.http_ropcg.token_store_key, stored_token(5, expires_in=30))  # rotated by another process
    clock.advance(61)
    client.service.get_status()
    (refresh,) = token_calls(rsps)
    assert form_of(refresh)["refresh_token"] == "REFRESH-TOKEN-5"
    assert store.load(client.http_ropcg.token_store_key).access_token == "ACCESS-TOKEN-9"


def test_a_failing_store_is_logged_once_and_calls_go_on_in_process(rsps, sdk_logs):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token_store=BrokenStore()))
    for _ in range(3):
        assert client.service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 1
    warnings = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Token store" in warnings[0]
    assert "hunter2" not in sdk_logs.text


def test_a_client_with_a_store_starts_from_the_stored_token(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token_store=store))
    store.save(client.http_ropcg.token_store_key, stored_token(3))
    assert client.http_ropcg.token.access_token == "ACCESS-TOKEN-3"
    client.service.get_status()
    assert token_calls(rsps) == []


def test_manual_refresh_with_a_store_saves_what_it_returns(rsps):
    rsps.post(TOKEN_URL, json=token_body(2))
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1), o_auth_token_store=store))
    token = client.http_ropcg.refresh_token()
    assert store.load(client.http_ropcg.token_store_key).access_token == token.access_token == "ACCESS-TOKEN-2"


def test_token_store_must_be_a_token_store():
    with pytest.raises(TypeError, match="o_auth_token_store"):
        ResourceOwnerAuthCredentials(o_auth_token_store="tokens.sqlite3")
