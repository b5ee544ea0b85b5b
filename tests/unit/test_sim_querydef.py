"""The lab's queryDef simulator refuses what Adobe's pages do not document, as a real build may.

Trim is not in Adobe's list of functions (platform/using/defining-filter-conditions.md: Ltrim, Rtrim); an
attribute no page names is refused like a schema that lacks it. Every query a shipped playbook sends must
pass the simulator, and one that reads an attribute the lab accepts only as inferred must say "inferred".
"""

from __future__ import annotations

import re

import pytest

from lab.sim.nlsim.querydef import INFERRED, SCHEMAS, QueryDefError, translate
from runner.actions import Context
from runner.actions.querydef import fragment
from runner.inventory import Host
from runner.paths import shipped_modules
from runner.playbook import load_module


def _xml(schema: str, select: str, where: str = "") -> str:
    cond = f'<where><condition expr="{where}"/></where>' if where else ""
    return f'<queryDef schema="{schema}" operation="select"><select><node expr="{select}"/></select>{cond}</queryDef>'


def test_trim_is_refused_and_ltrim_rtrim_are_read() -> None:
    with pytest.raises(QueryDefError, match=r"^XTK-170013 .*unknown function 'Trim'"):
        translate(_xml("nms:recipient", "Lower(Trim(@email))"))
    with pytest.raises(QueryDefError, match="unknown function 'Trim'"):
        translate(_xml("nms:recipient", "@id", "Length(Trim(@email)) > 0"))
    sql, _params, _aliases, element = translate(_xml("nms:recipient", "Lower(Ltrim(Rtrim(@email)))"))
    assert "lower(ltrim(rtrim(t0.sEmail)))" in sql and element == "recipient"


@pytest.mark.parametrize(
    ("schema", "attr"),
    [
        ("xtk:workflow", "@lastStart"),
        ("xtk:workflow", "@lastRun"),
        ("nms:broadLogRcp", "@eventDate"),
        ("nms:recipient", "@company"),
        ("nms:trackingLogRcp", "@urlId"),
        ("xtk:folder", "@label"),
    ],
)
def test_an_attribute_no_page_names_is_refused(schema: str, attr: str) -> None:
    with pytest.raises(QueryDefError, match=rf"^XSV-350023 Unable to find node '{attr}' in schema '{schema}'"):
        translate(_xml(schema, attr))


def test_an_unknown_schema_gets_adobes_xtk_170024_message() -> None:
    with pytest.raises(QueryDefError) as caught:
        translate(_xml("nms:nothing", "@id"))
    # rn/using/release-2021.md: "XTK-170024 The temporary 'temp:deliveryEmail-all' schema is not defined in the
    # current context"
    assert str(caught.value) == "XTK-170024 The 'nms:nothing' schema is not defined in the current context"


def test_documented_attributes_and_the_lab_s_inferred_ones_are_read() -> None:
    sql = translate(_xml("nms:broadLogRcp", "[delivery/@id]", "@lastModified > SubSeconds(GetDate(), 60)"))[0]
    assert "t0.tsLastModified" in sql and "t0.iDeliveryId" in sql
    assert translate(_xml("xtk:workflowJob", "@command", "@status = 0"))[0].startswith("SELECT t0.sCommand")
    assert ("xtk:workflowJob", "status") in INFERRED and "status" not in SCHEMAS["xtk:workflowJob"].attrs
    assert SCHEMAS["xtk:folder"].table == "XtkFolder"  # data-model-description.md names XtkFolder


VARS = {
    "instance": "prod",
    "export_workflows": ["exportRecipients"],
    "import_folders": ["nmsRootRecipient"],
    "dedup_folders": ["nmsRootRecipient"],
    "tracking_workflow": "tracking",
}


def _queries() -> list[tuple[str, str, str, dict[str, object]]]:
    out = []
    for module in shipped_modules():
        for step in load_module(module).steps():
            if step.action == "query":
                out.append((module, step.id, step.title, step.args))
    return out


QUERIES = _queries()


def test_the_playbooks_send_queries() -> None:
    assert {m for m, *_ in QUERIES} >= {"export", "import", "mta", "wfserver"}


@pytest.mark.parametrize(("module", "step", "title", "args"), QUERIES, ids=[f"{m}/{s}" for m, s, *_ in QUERIES])
def test_every_shipped_query_passes_the_simulator_and_says_inferred_when_it_is(
    module: str, step: str, title: str, args: dict[str, object]
) -> None:
    ctx = Context(Host("lab1", (), VARS, "-"))
    js = fragment(args, ctx)[1]
    xml = re.search(r"<queryDef\b.*</queryDef>", js)
    assert xml, js
    translate(xml.group(0))  # raises on anything the lab refuses
    schema = str(args["schema"])
    used = {a for a in re.findall(r"@(\w+)", xml.group(0)) if (schema, a) in INFERRED}
    if used:
        assert "inferred" in title, f"{module}/{step} reads {sorted(used)} (no page names them): say inferred"
