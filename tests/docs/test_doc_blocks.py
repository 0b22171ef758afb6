"""Every ```python block of README.md, README.pypi.md and doc/**/*.md runs, in order, against the reference server.

How a page's blocks run:

- One test per Markdown file (the id is its path), so a failure names the file; the message
  names the block's line, and tracebacks point at lines of the Markdown file itself.
- The blocks of a file share one fresh namespace and run top to bottom, so a later block can use
  ``client`` from an earlier one. Files do not share anything.
- Blocks run exactly as written, as a reader pastes them: nothing in them is replaced. They use
  the reference server's demo credentials, and no placeholder (``'OAuthClientId'``...) is left
  in a runnable block. The reader's server listens on ``localhost:3000``, the SDK's default; the
  test's listens on a free port, so the environment's default URLs (``Server.DEFAULT`` and
  ``Server.AUTH``) point at it for the test.
- Files a page writes go to the test's temporary directory (its working directory and
  ``tempfile``'s), removed by pytest: a run leaves nothing in the system's temporary folder.
- The namespace also holds ``save_token_to_database(token)`` / ``load_token_from_database()``
  (an in-memory store that keeps the token as JSON text, as a real database would), which the
  pages introduce as the reader's own functions. Nothing else: a block that uses a name it does
  not define (or an earlier block of its page) fails, as it would for a reader who copies it.
- A block preceded by ``<!-- doc-test: skip (reason) -->`` is not run, and is counted. The reason
  is required.

The last test checks how many blocks ran and how many were skipped, and records the figures as
test properties (``--junitxml`` reports show them); nothing is printed.
"""

import json
import linecache
import logging
import re
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from mdnotesropcgwithoutauthscopes.configuration import _ENVIRONMENTS, Environment, Server
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", ROOT / "README.pypi.md", *sorted((ROOT / "doc").rglob("*.md"))]

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
USERNAME = "demo@example.com"
PASSWORD = "demo-password"
# What the pages once wrote instead of values; a block holding one fails when pasted (invalid_client).
PLACEHOLDERS = ("OAuthClientId", "OAuthClientSecret", "OAuthUsername", "OAuthPassword")

# The documentation has well over this many runnable blocks; fewer means blocks went missing
# (a broken fence, a file moved out of doc/, a skip marker gone wild).
MIN_BLOCKS_RUN = 60

_SKIP_MARK = re.compile(r"^<!--\s*doc-test:\s*skip\b(?P<rest>.*?)-->$")
_SKIP_REASON = re.compile(r"^\s*\((?P<reason>[^)]+)\)\s*$")

# Filled by the per-file tests, read by the summary test: {relative path: {"ran", "skipped", "complete"}}.
RESULTS: dict[str, dict[str, int]] = {}


@dataclass(frozen=True)
class Block:
    """One ```python block: where it starts, its code, and why it is skipped (None: it runs)."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    skip_reason: Optional[str]


def _relative(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:  # a page outside the repository (the parser's own tests)
        return str(path)


def extract_blocks(path: Path) -> list[Block]:
    """The Python blocks of a Markdown file, with their skip markers.

    Raises:
        ValueError: a block is not closed, or a skip marker has no ``(reason)``.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped != "```python":
            index += 1
            continue
        fence_line = index
        indent = len(lines[index]) - len(lines[index].lstrip())
        body = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            line = lines[index]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            index += 1
        if index == len(lines):
            raise ValueError(f"{_relative(path)}:{fence_line + 1}: the ```python block is never closed")
        index += 1
        blocks.append(Block(path, fence_line + 1, "\n".join(body) + "\n", _skip_reason(path, lines, fence_line)))
    return blocks


def _skip_reason(path: Path, lines: list[str], fence_line: int) -> Optional[str]:
    """The reason of a ``doc-test: skip`` marker on the nearest non-blank line above the fence."""
    previous = fence_line - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous < 0:
        return None
    mark = _SKIP_MARK.match(lines[previous].strip())
    if mark is None:
        return None
    reason = _SKIP_REASON.match(mark.group("rest"))
    if reason is None:
        raise ValueError(f"{_relative(path)}:{previous + 1}: write the skip marker as <!-- doc-test: skip (reason) -->")
    return reason.group("reason").strip()


class _TokenDatabase:
    """What the pages call ``save_token_to_database`` / ``load_token_from_database``.

    The token is kept as JSON text, so every restore goes through ``to_dictionary`` and
    ``from_dictionary`` the way a real database round trip would.
    """

    def __init__(self) -> None:
        self.saved: Optional[str] = None

    def save(self, token) -> None:
        if token is None:
            self.saved = None
            return
        data = token.to_dictionary() if isinstance(token, OAuthToken) else dict(token)
        self.saved = json.dumps(data)

    def load(self) -> Optional[OAuthToken]:
        return None if self.saved is None else OAuthToken.from_dictionary(json.loads(self.saved))


def _namespace() -> dict[str, object]:
    database = _TokenDatabase()
    return {
        "__name__": "__doc_block__",
        "save_token_to_database": database.save,
        "load_token_from_database": database.load,
    }


class _LoggingState:
    """Pages may configure logging; put the root and SDK loggers back as they were."""

    NAMES = ("", "mdnotesropcgwithoutauthscopes")

    def __enter__(self) -> "_LoggingState":
        self.saved = []
        for name in self.NAMES:
            logger = logging.getLogger(name)
            self.saved.append((logger, logger.level, list(logger.handlers), logger.propagate, logger.disabled))
        return self

    def __exit__(self, *exc_info) -> None:
        for logger, level, handlers, propagate, disabled in self.saved:
            for handler in logger.handlers:
                if handler not in handlers:
                    logger.removeHandler(handler)
            for handler in handlers:
                if handler not in logger.handlers:
                    logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


@pytest.fixture(scope="module")
def reference_server():
    """The MdNotes reference server on a free port, with the demo credentials; stopped at the end."""
    from mdnotesropcgwithoutauthscopes.testing import start_server

    server = start_server(
        port=0,
        token_lifetime=3600,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
    )
    yield server
    server.stop()


@pytest.fixture
def default_urls_on_server(reference_server, monkeypatch):
    """Point the production environment's servers at the reference server for one test."""
    servers = _ENVIRONMENTS[Environment.PRODUCTION]
    monkeypatch.setitem(servers, Server.DEFAULT, reference_server.base_uri)
    monkeypatch.setitem(servers, Server.AUTH, reference_server.auth_base_uri)
    return reference_server


@pytest.mark.parametrize("doc", DOC_FILES, ids=_relative)
def test_python_blocks_run(doc, default_urls_on_server, monkeypatch, tmp_path):
    name = _relative(doc)
    blocks = extract_blocks(doc)
    RESULTS[name] = counts = {"ran": 0, "skipped": 0, "complete": 0}
    monkeypatch.chdir(tmp_path)  # a page that writes files writes them here...
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # ...and so does tempfile.mkdtemp()
    # Tracebacks through a block show the Markdown file's own lines.
    text = doc.read_text(encoding="utf-8")
    filename = str(doc)
    monkeypatch.setitem(linecache.cache, filename, (len(text), None, text.splitlines(True), filename))
    namespace = _namespace()
    try:
        with _LoggingState():
            for block in blocks:
                if block.skip_reason is not None:
                    counts["skipped"] += 1
                    continue
                # Leading newlines keep the code's line numbers equal to the file's.
                code = "\n" * block.line + block.code
                failure = None
                try:
                    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - running the docs is the point
                except Exception:  # noqa: BLE001 - reported below, outside the handler, without chaining
                    failure = _block_traceback(filename)
                if failure is not None:
                    pytest.fail(f"{name}: the python block at line {block.line} raised:\n{failure}", pytrace=False)
                counts["ran"] += 1
        counts["complete"] = 1
    finally:
        for value in namespace.values():
            if isinstance(value, MdnotesropcgwithoutauthscopesClient):
                value.close()


def _block_traceback(filename: str) -> str:
    """The traceback from the block's first frame on (the test's own frames are noise)."""
    text = traceback.format_exc()
    marker = f'File "{filename}"'
    start = text.find(marker)
    return text if start < 0 else "Traceback (the block's frames first):\n  " + text[start:]


def test_skip_markers_need_a_reason(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- doc-test: skip -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="reason"):
        extract_blocks(page)


def test_extraction_counts_skips_and_keeps_line_numbers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# T\n\n```python\na = 1\n```\n\n<!-- doc-test: skip (needs a proxy) -->\n\n```python\nb = 2\n```\n"
        "```sh\nc\n```\n",
        encoding="utf-8",
    )
    first, second = extract_blocks(page)
    assert (first.line, first.code, first.skip_reason) == (3, "a = 1\n", None)
    assert (second.line, second.skip_reason) == (9, "needs a proxy")


@pytest.mark.parametrize("doc", DOC_FILES, ids=_relative)
def test_runnable_blocks_hold_values_not_placeholders(doc):
    for block in extract_blocks(doc):
        for placeholder in PLACEHOLDERS:
            for quoted in (f"'{placeholder}'", f'"{placeholder}"'):
                assert quoted not in block.code, (
                    f"{_relative(doc)}:{block.line}: {quoted} fails when pasted; write the demo value "
                    f"with a comment naming what it stands for (# your {placeholder})"
                )


def test_block_counts(record_property):
    """Check that the docs still hold code, and that every block ran or was skipped as marked."""
    expected_ran = expected_skipped = 0
    for doc in DOC_FILES:
        blocks = extract_blocks(doc)
        expected_skipped += sum(1 for b in blocks if b.skip_reason is not None)
        expected_ran += sum(1 for b in blocks if b.skip_reason is None)
    ran = sum(c["ran"] for c in RESULTS.values())
    skipped = sum(c["skipped"] for c in RESULTS.values())
    record_property("doc_blocks_ran", ran)
    record_property("doc_blocks_skipped", skipped)
    assert expected_ran >= MIN_BLOCKS_RUN, f"only {expected_ran} runnable python blocks left in the docs"
    if sum(c["complete"] for c in RESULTS.values()) == len(DOC_FILES):  # every file ran to its end here
        assert (ran, skipped) == (expected_ran, expected_skipped)
