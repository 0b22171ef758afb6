"""``RedisTokenStore``: one token per key on a Redis server, shared by every process and host."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mdnotesropcgwithoutauthscopes._constants import REDACTED
from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import (
    LeasedTokenStore,
    LeaseLostError,
    Record,
    TokenStoreError,
    _check_key,
    _check_timeout,
    decode_record,
    decode_token,
    encode_record,
    encode_token,
)
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:  # redis is an optional extra: only type checkers import it here
    import redis

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

_REDIS_SOCKET_TIMEOUT = 5.0  # for clients the store builds from a URL
_REDIS_CONNECT_TIMEOUT = 2.0
# The longest a waiter blocks before looking at the lock again. Releases wake waiters at once;
# this only bounds how late a lost wake-up (Redis restarted, list expired) is noticed.
_REDIS_MAX_WAIT = 1.0
_REDIS_WAKE_TTL_MS = 5000  # a wake-up nobody waited for is dropped after this long
_ACQUIRED = -3

# Take the lock, or say how long its current lease has left (a lock without one gets one).
_ACQUIRE_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -3 end
local left = redis.call('PTTL', KEYS[1])
if left == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return tonumber(ARGV[2]) end
return left
"""
# Release only our own lease (never one a waiter took over after ours ran out), then wake a waiter.
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('LPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 63)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# Save only while our lease is still ours, so an overdue holder cannot overwrite a newer token.
_FENCED_SAVE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""


# Extend our own lease (never one a waiter took over after ours ran out).
_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ImportError(
            "RedisTokenStore needs the redis package: pip install 'mdnotesropcgwithoutauthscopes[redis]'"
        ) from exc
    return redis


def _redact_url(url: str) -> str:
    """``url`` without its password (or any user info that might be one) and query values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if has_password else f"{REDACTED}@{hostport}"
    query = "&".join(f"{name}={REDACTED}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _describe_client(client: Any) -> str:
    """Where a passed-in client connects, for repr and messages (never its password)."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) or {}
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    if kwargs.get("host"):
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    service = getattr(pool, "service_name", None)  # a Sentinel pool finds its host when it connects
    return f"{type(pool).__name__}({service!r})" if service else type(pool).__name__


def _reopen_redis_store(url: str, prefix: str) -> RedisTokenStore:
    return RedisTokenStore(url, prefix=prefix)


class RedisTokenStore(LeasedTokenStore):
    """A store on a Redis server, shared by every process and host that uses it.

    Needs the optional ``redis`` package (``pip install 'mdnotesropcgwithoutauthscopes[redis]'``),
    imported only when a store is built. Keys are ``<prefix>token:{<key>}`` (the token, as JSON),
    ``<prefix>lock:{<key>}`` (the lease), ``<prefix>wake:{<key>}`` (wakes waiters) and
    ``<prefix>record:<name>:{<key>}`` (the sign-in hold and outage backoff, with an expiry); the
    key the SDK passes is a hash, so no username or client id is readable in Redis. The braces are
    a hash tag: one token's keys always hash alike, as the scripts touching two of them need when
    sharded.

    The lock is a lease: ``SET NX PX`` with a random value, kept alive by its holder (a script
    extends it only while the value is still ours) and released by a script that deletes it only
    while the value is still ours, so a holder whose lease ran out never removes the lock of the
    waiter that took over (nor overwrites the token that waiter saved: ``save`` inside ``lock``
    checks the lease in the same script). Waiters block on the wake-up list (``BLPOP``) that
    every release pushes to, at most until the holder's lease ends, so they do not poll. A
    ``rediss://`` URL checks the server certificate and its host name.

    Args:
        url_or_client: a ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL, or a ``redis.Redis``
            client to use as it is configured (its ``socket_timeout``, if any, should exceed one
            second, the longest a waiter blocks in one command). A client built from a URL gets
            a 2 s connect and 5 s socket timeout.
        prefix: put before every key, to keep these keys apart from others in the same database.

    Raises:
        ImportError: the ``redis`` package is not installed.
        TypeError: ``url_or_client`` is neither a str nor a ``redis.Redis``; ``prefix`` is not a str.
        ValueError: the URL has another scheme or cannot be parsed.

    Every method raises ``TokenStoreError`` when Redis cannot be reached or answers with an
    error; its message names the server without its password.
    """

    def __init__(self, url_or_client: Union[str, redis.Redis], *, prefix: str = "mdnotes:") -> None:
        super().__init__()
        if not isinstance(prefix, str):
            raise TypeError(f"RedisTokenStore prefix must be a str, not {type(prefix).__name__}")
        redis_module = _import_redis()
        self._prefix = prefix
        self._url: Optional[str] = None
        if isinstance(url_or_client, str):
            scheme = urlsplit(url_or_client).scheme.lower()
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError(
                    f"RedisTokenStore needs a redis://, rediss:// or unix:// URL, not {scheme + '://' if scheme else 'a'}"
                    " URL"
                )
            options: dict[str, Any] = {
                "socket_timeout": _REDIS_SOCKET_TIMEOUT,
                "socket_connect_timeout": _REDIS_CONNECT_TIMEOUT,
            }
            if scheme == "rediss":
                # redis-py 5 does not check the certificate's host name by default; 6 does.
                options["ssl_check_hostname"] = True
            try:
                client = redis_module.Redis.from_url(url_or_client, **options)
            except (ValueError, TypeError):
                # The parser's message may quote parts of the URL; the password must not leak.
                raise ValueError(f"RedisTokenStore cannot parse the Redis URL {_redact_url(url_or_client)}") from None
            self._url = url_or_client
            self._location = _redact_url(url_or_client)
        elif isinstance(url_or_client, redis_module.Redis):
            client = url_or_client
            self._location = _describe_client(client)
        else:
            raise TypeError(
                f"RedisTokenStore needs a redis:// URL or a redis.Redis client, not {type(url_or_client).__name__}"
            )
        self._client = client
        self._errors: tuple[type[BaseException], ...] = (redis_module.RedisError,)
        kwargs = client.connection_pool.connection_kwargs
        self._password: Optional[str] = kwargs.get("password")
        socket_timeout = kwargs.get("socket_timeout")
        self._max_wait = _REDIS_MAX_WAIT
        if socket_timeout:
            self._max_wait = max(0.01, min(_REDIS_MAX_WAIT, float(socket_timeout) / 2))
        self._acquire_script = client.register_script(_ACQUIRE_SCRIPT)
        self._release_script = client.register_script(_RELEASE_SCRIPT)
        self._fenced_save_script = client.register_script(_FENCED_SAVE_SCRIPT)
        self._renew_script = client.register_script(_RENEW_SCRIPT)

    @property
    def prefix(self) -> str:
        """What every key of this store starts with."""
        return self._prefix

    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None (also for a corrupt value, logged at WARNING).

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: Redis failed.
        """
        _check_key(key)
        with self._failures("read a token"):
            raw = self._client.get(self._key("token", key))
        return None if raw is None else decode_token(raw, self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``; inside ``lock`` only while the lease is still ours.

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
            TokenStoreError: Redis failed, or this thread's lease on ``key`` ran out and another
                holder took the lock over (its token is kept, not overwritten).
        """
        _check_key(key)
        value = encode_token(token)
        mark = self._held_mark(key)
        with self._failures("save a token"):
            if mark is None:
                self._client.set(self._key("token", key), value)
                return
            kept = self._fenced_save_script(keys=[self._key("lock", key), self._key("token", key)], args=[mark, value])
        if not kept:
            raise LeaseLostError(
                "RedisTokenStore: the lock's lease ran out before the token was saved and another holder took it;"
                " its token was kept"
            )

    def delete(self, key: str) -> None:
        """Forget the token under ``key``.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: Redis failed.
        """
        _check_key(key)
        with self._failures("delete a token"):
            self._client.delete(self._key("token", key))

    def close(self) -> None:
        """Close the connections of a client this store built from a URL (a passed-in client is left open)."""
        if self._url is not None:
            self._client.close()

    def __enter__(self) -> RedisTokenStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url is None:
            raise TypeError(
                "a RedisTokenStore built from a redis.Redis client cannot be pickled; build it from a URL"
                " to hand it to other processes"
            )
        return (_reopen_redis_store, (self._url, self._prefix))

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._location!r}, prefix={self._prefix!r})"

    def _key(self, purpose: str, key: str) -> str:
        return f"{self._prefix}{purpose}:{{{key}}}"

    def _acquire(self, key: str, lease: float) -> Any:
        lock_key, wake_key = self._key("lock", key), self._key("wake", key)
        mark = secrets.token_hex(16)
        lease_ms = max(1, round(lease * 1000))
        with self._failures("take the lock"):
            while True:
                left_ms = int(self._acquire_script(keys=[lock_key], args=[mark, lease_ms]))
                if left_ms == _ACQUIRED:
                    return mark
                # Sleep until a release wakes us or the holder's lease ends; 0 would block forever.
                wait = min(max(left_ms, 10) / 1000, self._max_wait)
                self._client.blpop([wake_key], timeout=wait)

    def _renew(self, key: str, mark: Any, lease: float) -> bool:
        with self._failures("renew the lock"):
            renewed = self._renew_script(keys=[self._key("lock", key)], args=[mark, max(1, round(lease * 1000))])
        return bool(renewed)

    def load_record(self, key: str, name: str) -> Optional[Record]:
        """The record ``name`` beside ``key``'s token, or None; see ``TokenStore.load_record``."""
        _check_key(key)
        with self._failures("read a record"):
            raw = self._client.get(self._key(f"record:{name}", key))
        return None if raw is None else decode_record(raw)

    def save_record(self, key: str, name: str, value: Optional[Record], ttl: float) -> None:
        """Keep (or with None, forget) the record ``name``; see ``TokenStore.save_record``."""
        _check_key(key)
        ttl_ms = max(1, round(_check_timeout(ttl) * 1000))
        with self._failures("save a record"):
            if value is None:
                self._client.delete(self._key(f"record:{name}", key))
            else:
                self._client.set(self._key(f"record:{name}", key), encode_record(value), px=ttl_ms)

    def _release(self, key: str, mark: Any) -> None:
        try:
            released = self._release_script(
                keys=[self._key("lock", key), self._key("wake", key)], args=[mark, _REDIS_WAKE_TTL_MS]
            )
        except self._errors as exc:
            logger.warning("RedisTokenStore: the lock could not be released (%s); its lease frees it", self._safe(exc))
            return
        if not released:
            logger.warning("RedisTokenStore: a lock was held past its lease and another holder took it over")

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise TokenStoreError(f"RedisTokenStore {self._location}: cannot {action}: {self._safe(exc)}") from exc

    def _safe(self, exc: BaseException) -> str:
        """The exception's type and message, with the password taken out should it appear."""
        text = f"{type(exc).__name__}: {exc}"
        if self._password:
            text = text.replace(self._password, REDACTED)
        return text
