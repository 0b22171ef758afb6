"""Property tests: whatever a server answers, the SDK returns a model or raises its own exception."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus
from tests.helpers import make_client, make_credentials, stored_token


class CannedHttpClient(HttpClient):
    """An ``HttpClient`` that answers every request with one canned response."""

    def __init__(self, status, body, headers):
        self.answer = (status, body, headers)
        self.sent = []

    def execute(self, request, *, timeout=None):
        self.sent.append(request)
        status, body, headers = self.answer
        return HttpResponse(status, "Canned", headers, body, request)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
token_like = st.fixed_dictionaries(
    {},
    optional={
        "access_token": json_values | st.text(max_size=40),
        "token_type": json_values,
        "expires_in": json_values
        | st.integers()
        | st.text(alphabet="0123456789.e-+ ", max_size=12)
        | st.just(10**400)
        | st.just("1e400"),
        "refresh_token": json_values,
        "expiry": json_values,
        "scope": json_values,
        "error": json_values,
        "error_description": json_values,
        "error_uri": json_values,
    },
)
bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | token_like.map(lambda v: json.dumps(v).encode())
)
statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 503]) | st.integers(100, 599)
header_sets = st.sampled_from(
    [
        {},
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        {"Retry-After": "0"},
        {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"Retry-After": "garbage"},
    ]
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(call):
    """The call's result, or None when it raised one of the SDK's exceptions (which must print)."""
    try:
        return call()
    except APIException as exc:
        str(exc), repr(exc)
        return None


@FAST
@given(status=statuses, body=bodies, headers=header_sets)
def test_token_endpoint_answers_become_a_token_or_an_sdk_exception(status, body, headers):
    client = make_client(http_client_instance=CannedHttpClient(status, body, headers), max_retry_wait=0, timeout=0.1)
    token = outcome(client.http_ropcg.fetch_token)
    if token is not None:
        assert isinstance(token, OAuthToken)
        assert isinstance(token.access_token, str) and token.access_token
        assert token.expiry is None or isinstance(token.expiry, (int, float))


@FAST
@given(status=statuses, body=bodies, headers=header_sets)
def test_api_answers_become_a_model_or_an_sdk_exception(status, body, headers):
    canned = CannedHttpClient(status, body, headers)
    client = make_client(
        make_credentials(o_auth_token=stored_token(1)), http_client_instance=canned, max_retries=1, max_retry_wait=0
    )
    result = outcome(client.service.get_status)
    assert result is None or isinstance(result, ServiceStatus)


@FAST
@given(body=token_like)
def test_token_model_round_trips_whatever_it_was_given_or_refuses_it(body):
    usable = all(isinstance(body.get(name), str) and body[name] for name in ("access_token", "token_type"))
    if not usable:  # RFC 6749 section 5.1 requires both: refused with the field's name
        with pytest.raises((TypeError, ValueError), match="access_token|token_type"):
            OAuthToken.from_dictionary(body)
        return
    token = OAuthToken.from_dictionary(body)
    assert OAuthToken.from_dictionary(json.loads(json.dumps(token.to_dictionary()))) == token
