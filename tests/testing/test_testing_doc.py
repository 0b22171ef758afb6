"""doc/testing.md's test modules pass when pytest runs them as a user would (the doc test only defines them)."""

import re
from pathlib import Path

from tests.docs.test_doc_blocks import extract_blocks

DOC = Path(__file__).resolve().parents[2] / "doc" / "testing.md"
_FILE_NAME = re.compile(r"^# (test_\w+\.py)\n")


def test_the_docs_test_modules_pass_under_pytest(pytester):
    modules = {}
    for block in extract_blocks(DOC):
        name = _FILE_NAME.match(block.code)
        if name is not None and block.skip_reason is None:
            modules[name.group(1)] = block.code
    assert sorted(modules) == ["test_with_fixtures.py", "test_with_responses.py", "test_with_server.py"]
    for name, code in modules.items():
        pytester.path.joinpath(name).write_text(code, encoding="utf-8")
    tests = sum(len(re.findall(r"^def test_", code, flags=re.MULTILINE)) for code in modules.values())

    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")

    result.assert_outcomes(passed=tests)
    assert tests >= 12
