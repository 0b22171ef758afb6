"""Importing the package root or the pytest plugin costs almost nothing; every root name still imports."""

import json
import subprocess
import sys

import pytest

import mdnotesropcgwithoutauthscopes
import mdnotesropcgwithoutauthscopes.exceptions

HEAVY = ("sqlite3", "requests", "urllib3", "responses", "mdnotesropcgwithoutauthscopes.http")


def _modules_after(statement):
    """The modules a fresh interpreter holds after running ``statement``, minus those it held before."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def _heavy(modules):
    return [name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize(
    "statement",
    [
        "import mdnotesropcgwithoutauthscopes.testing.pytest_plugin",
        "import mdnotesropcgwithoutauthscopes.testing",
        "import mdnotesropcgwithoutauthscopes",
    ],
)
def test_importing_the_plugin_or_the_root_imports_nothing_heavy(statement):
    added = _modules_after(statement)
    assert _heavy(added) == []
    assert not any(name.startswith("mdnotesropcgwithoutauthscopes.http") for name in added)


def test_the_plugin_adds_only_itself_its_package_and_the_version():
    added = _modules_after("import mdnotesropcgwithoutauthscopes.testing.pytest_plugin")
    ours = sorted(name for name in added if name.startswith("mdnotesropcgwithoutauthscopes"))
    assert ours == [
        "mdnotesropcgwithoutauthscopes",
        "mdnotesropcgwithoutauthscopes._version",
        "mdnotesropcgwithoutauthscopes.testing",
        "mdnotesropcgwithoutauthscopes.testing.pytest_plugin",
    ]


def test_every_name_in_all_imports_from_the_root_in_a_fresh_interpreter():
    names = mdnotesropcgwithoutauthscopes.__all__
    statement = "\n".join(f"from mdnotesropcgwithoutauthscopes import {name}" for name in names)
    _modules_after(statement)  # check=True: an ImportError fails the test


@pytest.mark.parametrize("name", mdnotesropcgwithoutauthscopes.__all__)
def test_each_root_name_is_the_object_of_its_module(name):
    value = getattr(mdnotesropcgwithoutauthscopes, name)
    if name == "__version__":
        from mdnotesropcgwithoutauthscopes._version import __version__

        assert value == __version__
    else:
        assert value.__name__ == name
        assert value.__module__.startswith("mdnotesropcgwithoutauthscopes.")


def test_every_exception_is_a_root_name_and_dir_lists_them_all():
    assert set(mdnotesropcgwithoutauthscopes.exceptions.__all__) <= set(mdnotesropcgwithoutauthscopes.__all__)
    assert set(mdnotesropcgwithoutauthscopes.__all__) <= set(dir(mdnotesropcgwithoutauthscopes))


def test_an_unknown_root_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        mdnotesropcgwithoutauthscopes.NoSuchThing  # noqa: B018
    with pytest.raises(ImportError):
        from mdnotesropcgwithoutauthscopes import NoSuchThing  # noqa: F401
