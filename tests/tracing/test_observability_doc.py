"""doc/observability.md's tracing blocks, which set the process-wide tracer provider, run in a fresh interpreter."""

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.docs.test_doc_blocks import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, extract_blocks

PAGE = Path(__file__).resolve().parents[2] / "doc" / "observability.md"


def test_the_console_exporter_blocks_print_the_call_and_token_spans(mdnotes_server_factory):
    blocks = [block for block in extract_blocks(PAGE) if "test_observability_doc.py" in (block.skip_reason or "")]
    assert len(blocks) == 2
    server = mdnotes_server_factory(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=USERNAME, password=PASSWORD
    )
    # The blocks run as written, but against this server rather than one on port 3000.
    code = "".join(block.code for block in blocks).replace("http://localhost:3000", server.url.rstrip("/"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr

    # ConsoleSpanExporter prints one JSON object per span.
    spans = [json.loads(text) for text in re.split(r"(?<=\n})\n(?={)", result.stdout.strip())]
    token, call = spans
    assert (token["name"], call["name"]) == ("POST /token", "GET /status")
    assert token["parent_id"] == call["context"]["span_id"] and call["parent_id"] is None
    assert token["attributes"]["oauth2.grant_type"] == "password"
    assert call["attributes"]["http.response.status_code"] == 200
    assert PASSWORD not in result.stdout
