"""Values that more than one module of the SDK uses: each is written here, and only here."""

#: Seconds to wait for the server, per request, when nothing else is said (``Configuration.timeout``).
DEFAULT_TIMEOUT = 60

#: The longest wait before a retry, in seconds, whatever ``Retry-After`` asks (``Configuration.max_retry_wait``).
DEFAULT_MAX_RETRY_WAIT = 60

#: The largest response body a client reads unless told otherwise (``Configuration.max_response_bytes``).
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024

#: What is shown instead of a secret in reprs, messages and logs.
REDACTED = "***"
