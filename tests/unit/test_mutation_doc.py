"""The mutation figures as published: docs/reliability.md shows the summary of docs/mutation.md (both written
by `make mutation`, the first also by `make reliability-figures`), and every surviving mutant listed there
has its reason."""

from __future__ import annotations

import re

from tests import mutation_report
from tests.reliability import figures

RELIABILITY = mutation_report.RELIABILITY.read_text(encoding="utf-8")
MUTATION = mutation_report.DOC.read_text(encoding="utf-8")


def test_reliability_md_shows_the_summary_of_mutation_md() -> None:
    assert figures.mutation_section() in RELIABILITY
    assert RELIABILITY.count(mutation_report.BEGIN) == 1


def test_the_score_adds_up_and_every_survivor_is_judged() -> None:
    summary = mutation_report.summary(MUTATION)
    score = re.search(r"\*\*Score: (\d+) of (\d+) mutants killed \((\d+\.\d) %\)\.\*\* (\d+) survived:", summary)
    assert score, summary
    killed, total, percent, survived = int(score[1]), int(score[2]), float(score[3]), int(score[4])
    assert percent == round(100 * killed / total, 1)
    assert killed + survived <= total
    judged = re.search(r"(\d+) judged \(each with its reason below\), (\d+) not judged yet", summary)
    assert judged and (int(judged[1]), int(judged[2])) == (survived, 0), summary
    assert "not judged yet**" not in MUTATION


def test_the_short_names_read_back_as_mutmuts_names() -> None:
    assert mutation_report._short("runner.audit.xǁAuditLogǁemit__mutmut_3") == "AuditLog.emit#3"
    assert mutation_report._short("runner.campaign_formats.x__excerpt__mutmut_8") == "_excerpt#8"
    assert mutation_report._short("runner.actions.querydef.x_fragment__mutmut_12") == "fragment#12"
    assert mutation_report.reason("runner.campaign_formats.x__excerpt__mutmut_8") == mutation_report.CODEC_CASE
    assert mutation_report.reason("runner.campaign_formats.x__excerpt__mutmut_9") is None
