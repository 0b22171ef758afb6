"""The spans the SDK exports through the application's tracer provider, against the reference server."""

import base64
import json
import time
from urllib.parse import quote_plus

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import ServerErrorException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import InvalidGrantException
from mdnotesropcgwithoutauthscopes.http import tracing as sdk_tracing
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.testing import client_for

CLIENT_ID = "tracing-client"
CLIENT_SECRET = "tracing-SECRET:+%/ü"
USERNAME = "tracing-USERNAME@example.com"
PASSWORD = "tracing PASSWORD:+%/é"
WRONG_PASSWORD = "tracing WRONG-PASSWORD"
BASE_PATH = "/oauth2/non-auth-server"


@pytest.fixture
def start(mdnotes_server_factory):
    def _start(**settings):
        values = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=USERNAME, password=PASSWORD)
        return mdnotes_server_factory(**{**values, "token_lifetime": 3600, **settings})

    return _start


def attributes(span):
    return dict(span.attributes or {})


def assert_http_client_span(span, server, method, path, status):
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"{method} {path}"
    assert span.instrumentation_scope.name == "mdnotesropcgwithoutauthscopes"
    found = attributes(span)
    assert found["http.request.method"] == method
    assert found["server.address"] == "127.0.0.1"
    assert found["server.port"] == server.port
    assert found["url.full"] == f"http://127.0.0.1:{server.port}{BASE_PATH}{path}"
    assert found.get("http.response.status_code") == status


def test_a_first_call_is_one_client_span_with_its_password_grant_as_a_child(tracing, start):
    server = start()
    with client_for(server) as client:
        client.service.get_status()

    call = tracing.one("GET /status")
    token = tracing.one("POST /token")
    assert len(tracing.spans()) == 2
    assert_http_client_span(call, server, "GET", "/status", 200)
    assert_http_client_span(token, server, "POST", "/token", 200)
    assert call.parent is None  # no span was current: the call is the root
    assert token.parent.span_id == call.context.span_id
    assert token.context.trace_id == call.context.trace_id
    assert attributes(token)["oauth2.grant_type"] == "password"
    assert "oauth2.grant_type" not in attributes(call)
    assert "http.request.resend_count" not in attributes(call)
    assert call.status.status_code is StatusCode.UNSET and token.status.status_code is StatusCode.UNSET
    # The token request ran inside the call: it starts after the call and ends before it.
    assert call.start_time <= token.start_time and token.end_time <= call.end_time


def test_a_call_inside_an_application_span_is_its_child(tracing, start):
    server = start()
    with client_for(server) as client:
        with trace.get_tracer("app").start_as_current_span("handle request") as outer:
            client.service.get_status()
    assert tracing.one("GET /status").parent.span_id == outer.get_span_context().span_id


def test_an_expired_token_is_refreshed_in_a_refresh_token_child_span(tracing, start):
    server = start(token_lifetime=0.5)
    creds_window_off = {"o_auth_refresh_window": 0}
    with client_for(server, credentials=credentials(server, **creds_window_off)) as client:
        client.service.get_status()
        time.sleep(0.6)
        tracing.exporter.clear()
        client.user.get_user()

    call = tracing.one("GET /user")
    token = tracing.one("POST /token")
    assert token.parent.span_id == call.context.span_id
    assert attributes(token)["oauth2.grant_type"] == "refresh_token"
    assert "http.request.resend_count" not in attributes(call)  # renewed before sending: one request


def test_a_401_renewal_stays_in_one_call_span_with_a_resend_count_and_a_token_child(tracing, start):
    server = start()
    with client_for(server) as client:
        client.service.get_status()
        server.revoke_all_tokens()  # the client still thinks its token is good: the server says 401
        tracing.exporter.clear()
        client.user.get_user()

    call = tracing.one("GET /user")
    token = tracing.one("POST /token")
    assert len(tracing.spans()) == 2
    assert_http_client_span(call, server, "GET", "/user", 200)
    assert attributes(call)["http.request.resend_count"] == 1
    assert token.parent.span_id == call.context.span_id
    assert attributes(token)["oauth2.grant_type"] == "refresh_token"
    assert call.status.status_code is StatusCode.UNSET


def test_a_failed_call_records_the_status_as_error_type_and_an_error_status(tracing, start):
    server = start()
    with client_for(server, max_retries=1, backoff_factor=0, max_retry_wait=0) as client:
        client.service.get_status()
        tracing.exporter.clear()
        server.set_faults(status_503_count=2, retry_after=0)
        with pytest.raises(ServerErrorException):
            client.service.get_status()

    call = tracing.one("GET /status")
    assert_http_client_span(call, server, "GET", "/status", 503)
    assert attributes(call)["error.type"] == "503"
    assert attributes(call)["http.request.resend_count"] == 1  # the retry is inside the call's span
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description == "HTTP response not OK."
    assert call.events == ()  # no exception event: messages the SDK did not write stay out


def test_a_connection_failure_records_the_exception_class_and_no_status_code(tracing, start):
    server = start()
    with client_for(server) as client:
        client.service.get_status()
        tracing.exporter.clear()
        server.set_faults(drop_next=1)
        with pytest.raises(APIConnectionException):
            client.service.get_status()

    call = tracing.one("GET /status")
    assert "http.response.status_code" not in attributes(call)
    assert attributes(call)["error.type"] == (
        "mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception.APIConnectionException"
    )
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description == "The server closed the connection"


def test_a_refused_sign_in_fails_the_token_span_and_the_call_span_that_needed_it(tracing, start):
    server = start()
    with client_for(server, credentials=credentials(server, o_auth_password=WRONG_PASSWORD)) as client:
        with pytest.raises(InvalidGrantException):
            client.service.get_status()

    call = tracing.one("GET /status")
    token = tracing.one("POST /token")
    assert token.parent.span_id == call.context.span_id
    assert attributes(token)["http.response.status_code"] == 400
    assert attributes(token)["error.type"] == "400"
    assert token.status.status_code is StatusCode.ERROR
    assert token.status.description == "OAuth 2 provider returned an error. (invalid_grant)"
    # The API request was never sent: no status, and the error is the token request's exception.
    assert "http.response.status_code" not in attributes(call)
    assert attributes(call)["error.type"] == (
        "mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception.InvalidGrantException"
    )
    assert call.status.status_code is StatusCode.ERROR


def test_a_background_renewal_is_a_root_token_span(tracing, start):
    server = start(token_lifetime=4)
    with client_for(server, credentials=credentials(server, o_auth_refresh_window=3)) as client:
        client.service.get_status()  # password grant; the window is capped at half the lifetime: 2 s
        time.sleep(2.1)  # inside the window, at least 0.9 s before the whole-second expiry
        with trace.get_tracer("app").start_as_current_span("handle request"):
            client.service.get_status()  # inside the window: renews in the background, does not wait
        deadline = time.monotonic() + 5
        while len(tracing.named("POST /token")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)

    first, renewal = sorted(tracing.named("POST /token"), key=lambda span: span.start_time)
    assert attributes(first)["oauth2.grant_type"] == "password"
    assert attributes(renewal)["oauth2.grant_type"] == "refresh_token"
    assert renewal.parent is None  # its own thread: no call, no application span above it
    calls = tracing.named("GET /status")
    assert len(calls) == 2
    assert renewal.context.trace_id not in {call.context.trace_id for call in calls}
    assert tracing.children_of(calls[1]) == []


def test_add_event_puts_an_event_on_the_span_of_the_call_in_progress(tracing, start):
    # The auth manager calls add_event where a stored token is adopted or the refused-credentials
    # hold stops a call; a token provider runs at that same place, inside the call's span.
    server = start()
    stored = OAuthToken(access_token="STORED-ACCESS", token_type="Bearer", expires_in=3600)

    def provider(last, manager):
        sdk_tracing.add_event(sdk_tracing.EVENT_TOKEN_ADOPTED)
        sdk_tracing.add_event(sdk_tracing.EVENT_SIGN_IN_HELD, {"oauth2.retry_in_s": 5.0})
        raise AuthValidationException("sign-in held for 5.0 s after refusals; nothing was sent")

    creds = ResourceOwnerAuthCredentials(o_auth_token_provider=provider)
    with client_for(server, credentials=creds) as client:
        with pytest.raises(AuthValidationException):
            client.service.get_status()
    assert stored.access_token not in json.dumps([span.to_json() for span in tracing.spans()])

    call = tracing.one("GET /status")
    assert len(tracing.spans()) == 1  # a held call sends nothing: no token span
    assert [(event.name, dict(event.attributes or {})) for event in call.events] == [
        ("oauth2.token_adopted", {}),
        ("oauth2.sign_in_held", {"oauth2.retry_in_s": 5.0}),
    ]
    assert call.status.description == "sign-in held for 5.0 s after refusals; nothing was sent"


def test_add_event_outside_any_span_does_nothing(tracing):
    sdk_tracing.add_event(sdk_tracing.EVENT_TOKEN_ADOPTED)
    assert tracing.spans() == []


def test_requests_instrumentation_spans_are_children_of_the_sdk_spans(tracing, start):
    server = start()
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=tracing.provider)
    try:
        with client_for(server) as client:  # the SDK's own session, through its fast request path
            client.service.get_status()
    finally:
        instrumentor.uninstrument()

    call = tracing.one("GET /status")
    token = tracing.one("POST /token")
    below_call = [s for s in tracing.children_of(call) if s is not token and s.name != "POST /token"]
    below_token = tracing.children_of(token)
    assert [(s.name, s.instrumentation_scope.name) for s in below_call] == [
        ("GET", "opentelemetry.instrumentation.requests")
    ]
    assert [(s.name, s.instrumentation_scope.name) for s in below_token] == [
        ("POST", "opentelemetry.instrumentation.requests")
    ]
    assert len(tracing.spans()) == 4


def test_requests_instrumentation_applied_after_the_client_was_built_is_used_too(tracing, start):
    server = start()
    with client_for(server) as client:
        client.service.get_status()
        tracing.exporter.clear()
        instrumentor = RequestsInstrumentor()
        instrumentor.instrument(tracer_provider=tracing.provider)
        try:
            client.user.get_user()
        finally:
            instrumentor.uninstrument()
    call = tracing.one("GET /user")
    assert [s.name for s in tracing.children_of(call)] == ["GET"]


def test_no_exported_span_holds_a_secret_a_username_or_a_query_string(tracing, start):
    server = start()
    seen_tokens = []
    creds = credentials(server, o_auth_on_token_update=seen_tokens.append)
    # User info is refused in base_uri (Configuration raises), so it cannot reach url.full either.
    base_uri = f"http://127.0.0.1:{server.port}{BASE_PATH}"
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=tracing.provider)
    try:
        with MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=creds) as client:
            client.service.get_status()  # password grant
            server.revoke_all_tokens()
            client.user.get_user()  # 401, refresh grant, repeat
            server.expire_all_tokens()
            client.service.get_status()
            client.o_auth_authorization.request_token(
                None,
                USERNAME,
                PASSWORD,
                _optional_form_parameters={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            )
        with client_for(server, credentials=credentials(server, o_auth_password=WRONG_PASSWORD)) as client:
            with pytest.raises(InvalidGrantException):
                client.service.get_status()
    finally:
        instrumentor.uninstrument()

    exported = json.dumps([json.loads(span.to_json()) for span in tracing.spans()])
    assert len(tracing.spans()) >= 12 and len(seen_tokens) >= 3
    secrets = {CLIENT_SECRET, PASSWORD, WRONG_PASSWORD, USERNAME}
    for token in seen_tokens:
        secrets |= {token.access_token, token.refresh_token}
    spelled = set()
    for secret in secrets:
        spelled |= {secret, quote_plus(secret), json.dumps(secret)[1:-1], "Bearer " + secret}
    basic = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"
    spelled.add(base64.b64encode(basic.encode()).decode())
    assert "oauth2.grant_type" in exported and "mdnotes-tracing-tests" in exported  # attributes and resource
    found = sorted(secret for secret in spelled if secret in exported)
    assert found == []
    for span in tracing.spans():  # the instrumentation's own http.url shows user info as REDACTED
        url = str(attributes(span).get("url.full", attributes(span).get("http.url")))
        assert "?" not in url and ("@" not in url or url.startswith("http://REDACTED:REDACTED@")), url


def test_url_attributes_drop_user_info_query_and_fragment():
    found = sdk_tracing._url_attributes("GET", "https://user:pw@Example.COM:8443/a/b?token=x#frag")
    assert dict(found) == {
        "http.request.method": "GET",
        "server.address": "example.com",
        "server.port": 8443,
        "url.full": "https://example.com:8443/a/b",
    }
    assert dict(sdk_tracing._url_attributes("POST", "https://[::1]/token"))["url.full"] == "https://[::1]/token"
    assert dict(sdk_tracing._url_attributes("POST", "https://[::1]/token"))["server.port"] == 443


def test_grant_types_outside_the_rfc_are_recorded_as_other():
    assert sdk_tracing._with_grant_type({}, {"grant_type": "password"}) == {"oauth2.grant_type": "password"}
    assert sdk_tracing._with_grant_type({}, {"grant_type": "my secret"}) == {"oauth2.grant_type": "_OTHER"}
    assert sdk_tracing._with_grant_type({}, {"username": "u"}) == {}


def test_status_descriptions_are_the_sdks_reasons_with_urls_cut_to_their_path():
    from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException

    exc = APIException("The token endpoint answered 302 (redirect to https://u:p@evil.example/x?password=hunter2)")
    assert sdk_tracing._description(exc) == "The token endpoint answered 302 (redirect to https://evil.example/x)"
    assert sdk_tracing._description(ValueError("a message the SDK did not write")) is None


def credentials(server, **changes):
    values = dict(
        o_auth_client_id=server.client_id,
        o_auth_client_secret=server.client_secret,
        o_auth_username=USERNAME,
        o_auth_password=PASSWORD,
    )
    values.update(changes)
    return ResourceOwnerAuthCredentials(**values)


def test_a_failure_while_recording_the_span_never_changes_what_the_call_raises(tracing, start, monkeypatch):
    server = start()

    def broken(self, span, exc):
        raise RuntimeError("a bug in the span recording")

    monkeypatch.setattr(sdk_tracing.CallSpan, "_record", broken)
    with client_for(server, credentials=credentials(server, o_auth_password=WRONG_PASSWORD)) as client:
        with pytest.raises(InvalidGrantException):
            client.service.get_status()
        monkeypatch.undo()
        assert [span.name for span in tracing.spans()] == ["POST /token", "GET /status"]  # still ended


def test_a_followed_redirect_is_not_an_error_in_the_requests_instrumentation(tracing, start):
    import responses

    base = "http://127.0.0.1:9" + BASE_PATH
    token = OAuthToken(access_token="A", token_type="Bearer", expires_in=3600, expiry=int(time.time()) + 3600)
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=tracing.provider)
    try:
        with responses.RequestsMock() as mock:
            mock.add("GET", base + "/status", status=302, headers={"Location": base + "/status/"})
            mock.add("GET", base + "/status/", json={"status": "ok"})
            creds = ResourceOwnerAuthCredentials(o_auth_token=token)
            with MdnotesropcgwithoutauthscopesClient(base_uri=base, resource_owner_auth_credentials=creds) as client:
                assert client.service.get_status().status == "ok"
    finally:
        instrumentor.uninstrument()
    hops = tracing.children_of(tracing.one("GET /status"))
    assert len(hops) == 2
    assert [span.status.status_code for span in hops] == [StatusCode.UNSET, StatusCode.UNSET]
