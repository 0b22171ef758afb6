"""Packaging for the MdNotes ROPC Python SDK."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="mdnotesropcgwithoutauthscopes",
    version="1.0.0",
    description="Python SDK for the MdNotes API (OAuth 2.0 resource owner password credentials)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=find_packages(include=["mdnotesropcgwithoutauthscopes", "mdnotesropcgwithoutauthscopes.*"]),
    install_requires=[
        line.strip()
        for line in (HERE / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ],
    extras_require={"redis": ["redis>=5"], "testing": ["responses>=0.24"]},
    entry_points={
        "console_scripts": ["mdnotes = mdnotesropcgwithoutauthscopes.cli:main"],
        # The testing kit's pytest plugin: its fixtures are there as soon as the package is installed.
        "pytest11": ["mdnotes = mdnotesropcgwithoutauthscopes.testing.pytest_plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Operating System :: OS Independent",
    ],
)
