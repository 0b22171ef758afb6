"""The sign-in hold: refused credentials are not sent again for a while (API.md section 9)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException


class CredentialsHeldException(OAuthProviderException):
    """The server refused these credentials, so the SDK does not send them again before ``retry_at``.

    Raised at once, without a request, by every call that needs a token and by ``fetch_token()``
    while the hold is in force: identity servers lock an account after a few failed sign-ins, and
    a service that kept sending a changed password would lock its own user out. The hold starts a
    few seconds after the first refusal and doubles with each further one, up to
    ``o_auth_refusal_hold_max`` (5 minutes by default). With a token store it is kept in the store,
    so every process and host using the same credentials honours it; a process with corrected
    credentials is not held. ``client.http_ropcg.clear_hold()`` (or ``mdnotes logout``) clears it.

    Attributes:
        error: the refusal's error code (``"invalid_grant"``, ``"invalid_client"``) or None.
        error_description: the server's explanation of the refusal, if it gave one.
        refused: ``"grant"`` (the password was refused) or ``"client"`` (the client was).
        refusals: how many refusals in a row the hold counts.
        retry_at: unix time from which the credentials are sent again.
    """

    def __init__(
        self,
        *,
        error: Optional[str],
        error_description: Optional[str],
        refused: str,
        refusals: int,
        retry_at: float,
    ) -> None:
        what = "client credentials" if refused == "client" else "username and password"
        when = datetime.fromtimestamp(retry_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        wait = max(0.0, retry_at - time.time())
        reason = (
            f"The token endpoint refused these {what} ({error or 'refused'}, {refusals} time"
            f"{'s' if refusals != 1 else ''} in a row); to protect the account from a lockout they are not sent"
            f" again before {when} (in {wait:.0f} s). Fix them, or call client.http_ropcg.clear_hold()"
        )
        super().__init__(reason, None)
        self.error = error
        self.error_description = error_description
        self.refused = refused
        self.refusals = refusals
        self.retry_at = retry_at

    @property
    def retry_after(self) -> float:
        """Seconds until the credentials are sent again (0 once the hold has passed)."""
        return max(0.0, self.retry_at - time.time())

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: the default reduction (``cls(*args)``) could not rebuild it, so an
        # exception raised in a worker process (multiprocessing, ProcessPoolExecutor) would fail
        # to reach the parent.
        fields = {
            "error": self.error,
            "error_description": self.error_description,
            "refused": self.refused,
            "refusals": self.refusals,
            "retry_at": self.retry_at,
        }
        return (_rebuild, (type(self), fields))

    def _details(self) -> str:
        return ""


def _rebuild(cls: type[CredentialsHeldException], fields: dict[str, Any]) -> CredentialsHeldException:
    return cls(**fields)
