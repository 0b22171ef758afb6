"""Small shared helpers: JSON, form encoding, redaction and argument checks."""

import json
import unicodedata
from collections.abc import Mapping
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes._constants import REDACTED as REDACTED

# Header names and form fields whose values are secrets; compared in lower case.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "password",
        "client_secret",
        "refresh_token",
        "access_token",
        "id_token",
        "client_assertion",
        # Not a secret, but personal data: kept out of DEBUG logs and reprs all the same.
        "username",
    }
)

# Unicode categories stripped from server text before it reaches str() or a log: controls (C0,
# DEL, C1, U+0085), format characters (bidi embeddings, overrides and isolates, U+200E/F, U+061C,
# zero-width characters), line and paragraph separators (U+2028, U+2029) and lone surrogates.
# They could forge extra log lines, reorder what a reader sees, or fail to encode.
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


class APIHelper:
    """Helpers shared by the models, the pipeline and the auth manager."""

    @staticmethod
    def json_deserialize(body: Any) -> Any:
        """Parse JSON text or bytes; None for an empty body.

        Raises:
            ValueError: the body is not JSON.
        """
        if body is None or body == b"" or body == "":
            return None
        try:
            return json.loads(body)
        except RecursionError:
            # Nested deeper than the parser's recursion limit: a hostile body, not JSON we can use.
            raise ValueError("JSON nested too deeply to parse") from None

    @staticmethod
    def json_serialize(obj: Any) -> str:
        """Serialize models (via ``to_dictionary``), plain values and other objects to JSON text.

        ``APIHelper.json_serialize(token)`` is one way to store a token; objects without
        ``to_dictionary`` are written with their attributes, through jsonpickle.
        """
        return json.dumps(obj, default=APIHelper._json_default)

    @staticmethod
    def _json_default(obj: Any) -> Any:
        to_dictionary = getattr(obj, "to_dictionary", None)
        if to_dictionary is not None:
            return to_dictionary()
        # Arbitrary user objects are rare here: jsonpickle is imported only when one shows up.
        import jsonpickle  # type: ignore[import-untyped]

        return json.loads(jsonpickle.encode(obj, unpicklable=False, keys=True))

    @staticmethod
    def clean_text(value: Any, limit: int = 512) -> Optional[str]:
        """Server-supplied text made safe for messages and logs; at most ``limit`` characters kept.

        Control, format (bidi), line- and paragraph-separator characters are removed, so the text
        stays on one line and reads in the order it is stored.
        """
        if value is None:
            return None
        text = str(value)
        if not text.isprintable():  # the fast path: printable text has none of those characters
            kept = []
            for char in text:
                if unicodedata.category(char) not in _STRIPPED_CATEGORIES:
                    kept.append(char)
                    if len(kept) > limit:
                        break
            text = "".join(kept)
        if len(text) > limit:
            text = text[:limit] + "..."
        return text

    @staticmethod
    def redact_mapping(values: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
        """A copy of a header or form mapping with secret values shown as ``***``."""
        if values is None:
            return None
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS else v) for k, v in values.items()}


def check_type(name: str, value: Any, types: Any, *, allow_none: bool = True) -> None:
    """Raise a TypeError naming the argument when ``value`` is not of ``types``."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TypeError(f"{name} must be {_type_names(types)}, not bool")
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {_type_names(types)}, not {type(value).__name__}")


def _type_names(types: Any) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return str(types.__name__)
