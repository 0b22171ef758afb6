"""The token endpoint is never hammered: the sign-in hold after a refusal, the backoff after an outage."""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from typing import Any, NamedTuple, Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import APIStatusException
from mdnotesropcgwithoutauthscopes.exceptions.credentials_held_exception import CredentialsHeldException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException

#: The hold after the first refusal; it doubles with each further one, up to the cap.
HOLD_FIRST = 3.0
#: The default cap of the hold (``o_auth_refusal_hold_max``).
HOLD_MAX_DEFAULT = 300.0
#: The backoff after the first transient failure; it doubles with each further one.
OUTAGE_FIRST = 0.5
#: The longest wait between two token requests during an outage (Retry-After included).
OUTAGE_MAX = 30.0
#: While the token is still valid, the next probe comes within this share of the time it has left.
OUTAGE_SHARE_OF_LIFE_LEFT = 0.25
#: The shortest wait between two probes.
OUTAGE_MIN = 0.2

_TRANSIENT_STATUSES = frozenset({408, 425, 429})
# scrypt's cost: 16 MiB and tens of milliseconds per guess, with a random salt per record.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


def refusal_kind(exc: BaseException, *, password_grant: bool) -> Optional[str]:
    """``"client"`` or ``"grant"`` when ``exc`` is a refusal that starts a hold, else None.

    The client is refused by ``invalid_client`` or a 401 with a ``Basic`` challenge (after AUTO's
    fallbacks); a password grant by ``invalid_grant`` or a 400/401/403 that names no error and is
    not a client refusal. A refused refresh token starts no hold: the SDK falls back to the password.
    """
    if isinstance(exc, OAuthProviderException) and exc.refused_client:
        return "client"
    if not password_grant or not isinstance(exc, APIStatusException):
        return None
    if exc.response_code not in (400, 401, 403):
        return None
    error = exc.error if isinstance(exc, OAuthProviderException) else None
    return "grant" if error in ("invalid_grant", None) else None


def is_transient(exc: BaseException) -> bool:
    """True for a failure that says "not now" (timeouts, connection errors, 408, 425, 429, 5xx)."""
    if isinstance(exc, APIConnectionException):
        return True
    if isinstance(exc, APIException) and exc.response is not None and not isinstance(exc, OAuthProviderException):
        status = exc.response_code
        return status is not None and (status in _TRANSIENT_STATUSES or 500 <= status <= 599)
    return False


class Hold(NamedTuple):
    """A sign-in hold: the refused credentials are not sent again before ``until`` (unix seconds).

    It names the refused credentials by a salted scrypt digest only, so a process can tell whether
    its own credentials are the refused ones without the record revealing or cheaply checking them.
    """

    until: float
    refusals: int
    kind: str  # "grant" or "client"
    error: Optional[str]
    description: Optional[str]
    salt: str
    digest: str

    def exception(self) -> CredentialsHeldException:
        """What a call held by this hold raises."""
        return CredentialsHeldException(
            error=self.error,
            error_description=self.description,
            refused=self.kind,
            refusals=self.refusals,
            retry_at=self.until,
        )

    def to_record(self) -> dict[str, Any]:
        """The hold as a store record."""
        return dict(self._asdict())

    @classmethod
    def from_record(cls, record: Optional[dict[str, Any]]) -> Optional[Hold]:
        """The hold in a store record, or None when it is not one."""
        if not record:
            return None
        try:
            return cls(
                until=float(record["until"]),
                refusals=int(record["refusals"]),
                kind=str(record["kind"]),
                error=None if record.get("error") is None else str(record["error"]),
                description=None if record.get("description") is None else str(record["description"]),
                salt=str(record["salt"]),
                digest=str(record["digest"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class Outage(NamedTuple):
    """The token endpoint failed ``failures`` times in a row; no token request before ``next_try``."""

    next_try: float
    failures: int
    description: str
    failure: Optional[BaseException]  # this process's own last failure (not stored)

    def to_record(self) -> dict[str, Any]:
        """The outage as a store record (without the exception object)."""
        return {"next_try": self.next_try, "failures": self.failures, "description": self.description}

    @classmethod
    def from_record(cls, record: Optional[dict[str, Any]]) -> Optional[Outage]:
        """The outage in a store record, or None when it is not one."""
        if not record:
            return None
        try:
            return cls(float(record["next_try"]), int(record["failures"]), str(record["description"]), None)
        except (KeyError, TypeError, ValueError):
            return None


class RefusalGuard:
    """Decides holds and backoffs for one client's credentials; holds no lock and no clock.

    Args:
        secret_material: what identifies the credentials (client id, secret, username, password);
            only ever fed to scrypt.
        hold_max: the cap of the hold in seconds; 0 turns holds off.
    """

    __slots__ = ("_material", "_hold_max", "_digests")

    def __init__(self, secret_material: tuple[Optional[str], ...], hold_max: float) -> None:
        self._material = "\x00".join(part or "" for part in secret_material).encode("utf-8")
        self._hold_max = hold_max
        self._digests: dict[str, str] = {}  # salt -> our digest under it (scrypt is slow on purpose)

    @property
    def enabled(self) -> bool:
        """False when ``o_auth_refusal_hold_max`` is 0."""
        return self._hold_max > 0

    def applies(self, hold: Optional[Hold], now: float) -> bool:
        """True when ``hold`` is in force at ``now`` and names these credentials."""
        if hold is None or not self.enabled or now >= hold.until:
            return False
        return hmac.compare_digest(self._digest(hold.salt), hold.digest)

    def refused(
        self, exc: BaseException, kind: str, previous: Optional[Hold], now: float, *, requests: int = 1
    ) -> Hold:
        """The hold after a refusal at ``now``, doubling a previous hold of the same credentials.

        ``requests`` is how many refused requests the refusal took (a round of AUTO's client
        authentication methods is several): the server counts each towards a lockout, and so does
        the hold.
        """
        refusals = max(1, requests)
        if previous is not None and hmac.compare_digest(self._digest(previous.salt), previous.digest):
            refusals += previous.refusals
        delay = min(self._hold_max, HOLD_FIRST * 2 ** min(refusals - 1, 30))
        salt = secrets.token_hex(16)
        error = exc.error if isinstance(exc, OAuthProviderException) else None
        description = exc.error_description if isinstance(exc, OAuthProviderException) else None
        return Hold(now + delay, refusals, kind, error, description, salt, self._digest(salt))

    def ttl(self, hold: Hold, now: float) -> float:
        """How long to keep a hold record: its remaining time plus the cap, to keep counting refusals."""
        return max(1.0, hold.until - now + self._hold_max)

    def _digest(self, salt: str) -> str:
        digest = self._digests.get(salt)
        if digest is None:
            digest = hashlib.scrypt(self._material, salt=bytes.fromhex(salt), **_SCRYPT).hex()
            self._digests = {salt: digest}  # one salt at a time is all a client meets
        return digest


def next_outage(exc: BaseException, previous: Optional[Outage], now: float, deadline: Optional[float]) -> Outage:
    """The backoff after a transient failure at ``now``.

    The wait doubles with consecutive failures from ``OUTAGE_FIRST`` (with jitter, so a fleet does
    not probe in step), honours ``Retry-After``, is capped at ``OUTAGE_MAX``, and while the current
    token is still valid (``deadline``) comes within a quarter of the time it has left.
    """
    failures = 1 if previous is None else previous.failures + 1
    step = OUTAGE_FIRST * 2 ** min(failures - 1, 16) * random.uniform(0.75, 1.25)
    retry_after = _retry_after(exc)
    if retry_after is not None:
        step = max(step, retry_after)
    if deadline is not None and deadline > now:
        step = min(step, max(OUTAGE_MIN, (deadline - now) * OUTAGE_SHARE_OF_LIFE_LEFT))
    step = min(max(step, OUTAGE_MIN), OUTAGE_MAX)
    return Outage(now + step, failures, describe_failure(exc), exc)


def describe_failure(exc: BaseException) -> str:
    """A failure in a few secret-free words, for logs and store records."""
    if isinstance(exc, APIException) and exc.response is not None:
        return f"HTTP {exc.response_code} from the token endpoint"
    if isinstance(exc, APIException):
        return f"{type(exc).__name__}: {APIHelper.clean_text(str(exc), 200)}"
    return type(exc).__name__


def _retry_after(exc: BaseException) -> Optional[float]:
    response = exc.response if isinstance(exc, APIException) else None
    if response is None:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else None
