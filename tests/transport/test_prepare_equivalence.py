"""``RequestsClient._prepare`` builds what ``Session.prepare_request`` builds, field by field.

``_prepare`` rebuilds requests' preparation for speed (see doc/performance.md). The reference
here is ``session.prepare_request(requests.Request(..., auth=<an auth object that does
nothing>))``: the SDK passes such an object on purpose, because authorization is its own
business. That is the one deliberate difference, and the last test shows it: for a plain
``requests.Request`` requests would add ``session.auth``, ``~/.netrc`` credentials or the URL's
user info as ``Authorization: Basic``; the SDK never does.
"""

import string

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient


class _NoAuth(requests.auth.AuthBase):
    def __call__(self, request):
        return request


_SAFE = string.ascii_letters + string.digits + "-._~"
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_TOKEN = st.text(alphabet=_SAFE, min_size=1, max_size=6)
_HEADER_NAMES = st.sampled_from(
    ["Accept", "accept", "X-Trace", "x-trace", "User-Agent", "Content-Type", "Authorization", "Cookie", "X-Empty"]
)
_HEADER_VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=12),
    st.text(alphabet=string.printable, max_size=12),  # may hold CR/LF or leading spaces: both must refuse
    st.integers(),  # not text: both must refuse
)
_HOSTS = st.sampled_from(["127.0.0.1", "localhost", "example.com", "b\u00fccher.example", "[::1]", "Example.COM"])


@st.composite
def _urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    userinfo = draw(st.sampled_from(["", "user:pass@", "u@"]))
    host = draw(_HOSTS)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(_TEXT.filter(lambda s: "?" not in s and "#" not in s), max_size=3)))
    query = draw(st.sampled_from(["", "?a=1", "?a=1&b=%20x", "?x"]))
    return f"{scheme}://{userinfo}{host}{port}/{path}{query}"


_PARAMS = st.one_of(
    st.none(),
    st.dictionaries(_TOKEN, st.one_of(_TEXT, st.lists(_TEXT, max_size=2), st.none()), max_size=3),
)


def _hook(response, **kwargs):
    return None


def _other_hook(response, **kwargs):
    return None


@st.composite
def _cases(draw):
    session = requests.Session()
    session.headers.clear()
    for name, value in draw(st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=3)).items():
        session.headers[name] = value
    session.params = draw(_PARAMS) or {}
    for name, value in draw(st.lists(st.tuples(_TOKEN, _TOKEN), max_size=3)):
        session.cookies.set(name, value)
    session.hooks = draw(
        st.sampled_from(
            [
                {"response": []},
                {"response": [_hook]},
                {"response": _hook},
                {"response": [_hook, _other_hook]},
                {},
            ]
        )
    )
    headers = draw(st.dictionaries(_HEADER_NAMES, st.one_of(_HEADER_VALUES, st.none()), max_size=3))
    method = draw(st.sampled_from(["GET", "get", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
    form = draw(st.one_of(st.none(), st.dictionaries(_TOKEN, _TEXT, max_size=3)))
    return session, method, draw(_urls()), draw(_PARAMS), headers, form


def _reference(session, method, url, query, headers, form):
    request = requests.Request(method, url, headers=dict(headers), params=query or {}, data=form or [], auth=_NoAuth())
    return session.prepare_request(request)


def _cookies(jar):
    return sorted((c.name, c.value, c.domain, c.path) for c in jar)


def _assert_same(ours, theirs):
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert dict(ours.headers) == dict(theirs.headers)
    assert list(ours.headers) == list(theirs.headers)  # same order, same spelling of names
    assert ours.body == theirs.body
    assert _cookies(ours._cookies) == _cookies(theirs._cookies)
    assert ours.hooks == theirs.hooks
    assert ours._body_position == theirs._body_position


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_prepare_matches_requests_field_by_field(case):
    session, method, url, query, headers, form = case
    try:
        theirs = _reference(session, method, url, query, headers, form)
    except requests.exceptions.InvalidHeader:
        theirs = None
    except (requests.exceptions.InvalidURL, ValueError, UnicodeError):
        return  # a URL requests cannot prepare either: not the subject of this test
    client = RequestsClient(http_client_instance=session)
    request = HttpRequest(method, url, dict(headers), query, form)
    for _ in range(2):  # the first call fills the URL and header caches, the second uses them
        if theirs is None:
            with pytest.raises(ValueError, match="request header"):
                client._prepare(request)
        else:
            _assert_same(client._prepare(request), theirs)


def test_session_auth_netrc_and_url_user_info_are_deliberately_not_applied(tmp_path, monkeypatch):
    (tmp_path / ".netrc").write_text("machine example.com\nlogin netrc-user\npassword netrc-password\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    client = RequestsClient(http_client_instance=requests.Session())
    for url, session_auth in (
        ("https://example.com/status", None),  # ~/.netrc
        ("https://example.com/status", ("session-user", "session-password")),  # session.auth
        ("https://user:secret@other.example/status", None),  # user info in the URL
    ):
        client.session.auth = session_auth
        plain = client.session.prepare_request(requests.Request("GET", url))
        assert plain.headers["Authorization"].startswith("Basic ")  # what requests alone would send
        ours = client._prepare(HttpRequest("GET", url, {}))
        assert "Authorization" not in ours.headers
        bearer = client._prepare(HttpRequest("GET", url, {"Authorization": "Bearer t"}))
        assert bearer.headers["Authorization"] == "Bearer t"  # the SDK's header, and only it
