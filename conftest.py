"""Project-wide pytest configuration.

The mhhs-sit plugin itself is registered through the ``pytest11`` entry point of the installed
package, so scenarios under ``test_themes/`` are collected by plain ``pytest``. ``pytester`` is
enabled here for the framework's own tests, which drive pytest from the outside.
"""

pytest_plugins = ["pytester"]
