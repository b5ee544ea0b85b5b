"""Root of the test suites. ``tests`` is a package, so pytest puts the project root on ``sys.path`` when it
imports this file, and every suite (tests/lab included, whose modules are not in a package) imports the
shared infrastructure as ``tests.support``. Fixtures live in each suite's conftest, built from
``tests.support.labfix``; no suite imports another suite's conftest.
"""
