"""The wheel and the sdist as users get them: built from the source tree, inspected, installed."""

import email
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import mdnotesropcgwithoutauthscopes

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "mdnotesropcgwithoutauthscopes"
VERSION = mdnotesropcgwithoutauthscopes.__version__
# What the repository holds besides the SDK; none of it belongs in the wheel.
NOT_THE_SDK = ("tests", "mdnotes_server", "examples", "benchmarks", "doc")
# Left out of the copy the build runs in: local state, not sources.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis"
)


def _pip(target_python: Path, *args: str) -> None:
    """Run this environment's pip against another interpreter (no pip needed in the target venv)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target_python), "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the build requirements of pyproject.toml (and ``build``); its python."""
    target = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    _pip(python, "install", "-q", "setuptools>=77", "wheel", "build")
    return python


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory, fresh_venv: Path) -> dict[str, Path]:
    """``python -m build`` on a copy of the tree: the sdist, then the wheel built from that sdist.

    Built in the fresh venv without isolation, so the build requirements are downloaded once.
    """
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    out = work / "out"
    result = subprocess.run(
        [str(fresh_venv), "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "work": work}


def _normalized(requirement: str) -> str:
    parsed = Requirement(requirement)
    return f"{parsed.name.lower()}{parsed.specifier}"  # the specifier prints its parts sorted


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"{PACKAGE}-{VERSION}.dist-info/METADATA"))


def test_distributions_carry_the_one_version(dists):
    assert dists["wheel"].name == f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    assert dists["sdist"].name == f"{PACKAGE}-{VERSION}.tar.gz"
    assert _wheel_metadata(dists["wheel"])["Version"] == VERSION


def test_wheel_holds_only_the_sdk_and_py_typed(dists):
    with zipfile.ZipFile(dists["wheel"]) as archive:
        names = archive.namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {PACKAGE, f"{PACKAGE}-{VERSION}.dist-info"}
    assert f"{PACKAGE}/py.typed" in names
    assert f"{PACKAGE}/mdnotesropcgwithoutauthscopes_client.py" in names
    assert f"{PACKAGE}/http/auth/o_auth_2.py" in names
    for other in NOT_THE_SDK:
        assert not any(name.startswith(f"{other}/") or f"/{other}/" in name for name in names), other
    source_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob("*.py")}
    assert source_files <= set(names)  # every module of the package, subpackages included


def test_sdist_holds_py_typed_and_what_its_build_and_docs_need(dists):
    with tarfile.open(dists["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        f"{PACKAGE}/py.typed",
        "pyproject.toml",
        "setup.py",
        "README.md",
        "README.pypi.md",
        "requirements.txt",
        "LICENSE",
        "CHANGELOG.md",
        "SECURITY.md",
        "doc/client.md",
    ):
        assert needed in names, needed
    assert not any(name.startswith(("tests/", "mdnotes_server/", "examples/", "benchmarks/")) for name in names)


def test_wheel_declares_the_command_line_and_the_pytest_plugin(dists):
    with zipfile.ZipFile(dists["wheel"]) as archive:
        entry_points = archive.read(f"{PACKAGE}-{VERSION}.dist-info/entry_points.txt").decode()
        names = archive.namelist()
    assert "[console_scripts]\nmdnotes = mdnotesropcgwithoutauthscopes.cli:main" in entry_points
    assert "[pytest11]\nmdnotes = mdnotesropcgwithoutauthscopes.testing.pytest_plugin" in entry_points
    assert f"{PACKAGE}/cli/__init__.py" in names and f"{PACKAGE}/testing/pytest_plugin.py" in names
    assert f"{PACKAGE}/_version.py" in names and f"{PACKAGE}/_constants.py" in names


def test_metadata_as_a_package_index_shows_it(dists):
    meta = _wheel_metadata(dists["wheel"])
    assert meta["Name"] == PACKAGE
    assert meta["Requires-Python"] == ">=3.9"
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier")
    for minor in range(9, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert meta.get_all("Provides-Extra") == ["otel", "redis", "testing"]
    requires = meta.get_all("Requires-Dist")
    assert 'opentelemetry-api>=1.20; extra == "otel"' in requires
    assert 'redis>=6; extra == "redis"' in requires
    assert 'responses>=0.24; extra == "testing"' in requires
    runtime = {_normalized(r) for r in requires if "extra ==" not in r}
    listed = {
        _normalized(line)
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert (
        len(runtime) == 3 and runtime == listed
    )  # requirements.txt (the README's demo command) and the metadata agree
    assert meta["Description-Content-Type"] == "text/markdown"
    description = meta.get_payload()
    assert description.startswith("# MdNotes Python SDK")
    # An index shows the description away from the repository: relative links would be broken.
    links = re.findall(r"\]\(([^)]*)\)", description)
    assert all(link.startswith("https://") for link in links), links


# Runs in the fresh venv: the installed SDK end to end, through an HttpClient of the script's own
# (the venv has no requests: it was installed --no-deps, and the root import must not need it).
_INSTALLED_CHECK = """
import pathlib, sys
import mdnotesropcgwithoutauthscopes as sdk
from mdnotesropcgwithoutauthscopes import (
    HttpClient, HttpResponse, MdnotesropcgwithoutauthscopesClient, OAuthToken, ResourceOwnerAuthCredentials,
)

class Canned(HttpClient):
    def execute(self, request, *, timeout=None):
        body = b'{"app": "MdNotes", "status": "ok", "notes": 0}'
        return HttpResponse(200, "OK", {"Content-Type": "application/json"}, body, request)

token = OAuthToken(access_token="a", token_type="Bearer")
credentials = ResourceOwnerAuthCredentials(o_auth_token=token)
with MdnotesropcgwithoutauthscopesClient(http_client_instance=Canned(), resource_owner_auth_credentials=credentials) as client:
    status = client.service.get_status()
package = pathlib.Path(sdk.__file__).parent
print(status.app, status.notes, sdk.__version__, package.joinpath("py.typed").is_file())
print(package.is_relative_to(pathlib.Path(sys.prefix)), "requests" in sys.modules)
"""


def test_sdist_installs_into_a_fresh_venv_and_the_client_works_there(dists, fresh_venv):
    _pip(fresh_venv, "install", "-q", "--no-deps", "--no-build-isolation", str(dists["sdist"]))
    # Run outside the checkout, so the installed copy is imported, not the source tree.
    run = subprocess.run(
        [str(fresh_venv), "-c", _INSTALLED_CHECK],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=dists["work"],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["MdNotes", "0", VERSION, "True", "True", "False"]
