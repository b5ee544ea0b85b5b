"""Discovery of a host's Campaign install when there is no inventory: reading the answer, choosing the instance."""

from __future__ import annotations

import pytest

from runner import discover
from runner.errors import InputError

ONE = "@@root /usr/local/neolane/nl6\n@@env /usr/local/neolane/nl6/env.sh\n@@instance prod\n"
TWO = "@@root /home/neolane/nl6\n@@instance prod\n@@instance mkt\n"


def test_one_instance_is_used() -> None:
    found = discover.parse(ONE, "prod1")
    assert found.host_vars(None, "prod1") == {
        "instance": "prod",
        "nl6_root": "/usr/local/neolane/nl6",
        "nlserver": "/usr/local/neolane/nl6/bin/nlserver",
        "nlserver_env": "/usr/local/neolane/nl6/env.sh",
    }


def test_several_instances_need_a_choice() -> None:
    found = discover.parse(TWO, "prod1")
    with pytest.raises(InputError, match="several Campaign instances: mkt, prod"):
        found.host_vars(None, "prod1")
    assert found.host_vars("mkt", "prod1")["instance"] == "mkt"
    with pytest.raises(InputError, match="no instance 'test'"):
        found.host_vars("test", "prod1")


@pytest.mark.parametrize(
    ("answer", "words"),
    [("@@none\n", "no Campaign install"), ("garbage\n", "cannot read"), ("@@root /x\n", None)],
)
def test_hosts_without_a_usable_install(answer: str, words: str | None) -> None:
    if words is None:  # an install without any config-<instance>.xml
        with pytest.raises(InputError, match="no instance on prod1"):
            discover.parse(answer, "prod1").host_vars(None, "prod1")
        return
    with pytest.raises(InputError, match=words):
        discover.parse(answer, "prod1")


def test_an_instance_name_that_is_not_one_is_ignored() -> None:
    found = discover.parse("@@root /r\n@@instance prod\n@@instance x;rm -rf\n", "h")
    assert found.instances == ("prod",)
