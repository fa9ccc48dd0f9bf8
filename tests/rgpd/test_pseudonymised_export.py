"""The pseudonymised export of a household whose free texts name people contains none of them, and no
date finer than the month, whatever columns are asked for, in every dataset."""

from __future__ import annotations

import re

import pytest

from asll.services import decisions, exports
from tests.core.workflow_support import granted_measure, submitted_request
from tests.rgpd.conftest import household

NAMES = ("Dupontel", "DUPONTEL", "Paul", "Ana", "Théo", "Valette", "Madame Valette", "Lilas", "Saint-Étienne")
FINER_THAN_MONTH = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}-\d{2}-\d{2}\b")


def _content(actor, dataset: str, columns: list[str]) -> tuple[list[str], str]:
    job = exports.request_export(actor, {"dataset": dataset, "pseudonymised": True, "columns": columns},
                                 send_to_worker=False)
    assert exports.run_job(job.id)["status"] == "done"
    _job, path, _name, _type = exports.open_file(actor, job.id, "csv")
    return list(job.columns), path.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("dataset", list(exports.DATASETS))
def test_a_pseudonymised_export_has_no_name_from_free_text_and_no_exact_date(env, folders, dataset):
    household_id = household(env, "Valette", family_situation="Vit avec son frère Paul DUPONTEL né le 03/04/1990")
    granted_measure(env, household_id=household_id)
    refused = submitted_request(env, household_id)
    session = decisions.create_session(env.secretary, {"commission_code": "wf.clu", "session_date": "2026-04-02"})
    decisions.build_agenda(env.secretary, session.id, [refused])
    decisions.decide_in_session(env.secretary, session.id, {refused: {
        "outcome": "redirected", "redirected_to": "FSL maintien, dossier suivi par Madame Valette"}})
    every_column = [c.key for c in exports.columns_for(env.tenant_id, dataset)]

    kept, content = _content(env.admin, dataset, every_column)

    assert "family_situation" not in kept and "reason" not in kept and "redirected_to" not in kept
    for name in NAMES:
        assert name not in content, name
    assert not FINER_THAN_MONTH.findall(content)
    header = content.splitlines()[0]
    assert "Pseudonyme du ménage" in header
    if dataset in ("measures", "decisions"):
        assert re.search(r"\b0[34]/2026\b", content)  # dates are kept, to the month
