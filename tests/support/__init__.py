"""Test infrastructure shared by the lab, end-to-end and reliability suites.

- ``wait``: the one bounded wait (``wait_until``) every suite uses instead of sleeping.
- ``cli``: the one driver of the real ``remediate`` CLI as a subprocess with no terminal (``Runner``).
- ``labfix``: the session lab fixtures (``session_lab``/``shared_lab_fixtures``) and host-state helpers.

Must not: import any suite's conftest or test module; the suites import from here, never from each other.
"""
