"""The kit's own tests run user test suites in a nested pytest (``pytester``)."""

pytest_plugins = ["pytester"]
