"""Project-wide pytest configuration.

The mhhs-sit plugin itself is registered through the ``pytest11`` entry point of the installed
package, so scenarios under ``test_themes/`` are collected by plain ``pytest``. ``pytester`` is
enabled here for the framework's own tests, which drive pytest from the outside.
"""

pytest_plugins = ["pytester"]

# In-process pytester runs unload the modules they import; SQLAlchemy's compiled parts cannot be
# imported a second time in one process ("'InternalTraversal' object is not callable"). Importing
# the results store here keeps it loaded across those runs.
import mhhs_sit.store.store  # noqa: E402, F401
