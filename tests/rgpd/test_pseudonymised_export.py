"""The pseudonymised export of a household whose free texts name people contains none of them, and no
date finer than the month, whatever columns are asked for, in every dataset; no rare combination of
the characteristics it keeps either (k-anonymity, services/rgpd/kanonymity.py)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent
from asll.services import decisions, exports
from asll.services.rgpd import policy as policy_service
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


# -- k-anonymity: no rare combination of the characteristics it keeps ------------------------
QUASI = ["household_reference", "age_bracket", "sector", "housing_status", "resources_kind", "monthly_resources",
         "members", "created_on"]


def _rows(actor, dataset: str, columns: list[str], pseudonymised: bool = True) -> tuple[list[str], list[dict]]:
    job = exports.request_export(actor, {"dataset": dataset, "pseudonymised": pseudonymised, "columns": columns},
                                 send_to_worker=False)
    assert exports.run_job(job.id)["status"] == "done"
    _job, path, _name, _type = exports.open_file(actor, job.id, "csv")
    content = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(content), delimiter=";")
    rows = list(reader)
    return list(reader.fieldnames), rows


def _members(name: str, count: int) -> list[dict]:
    return [{"last_name": name, "first_name": f"Personne {n}", "birth_date": "1980-01-01" if n else None,
             "is_reference": n == 0, "relationship_to_reference": "" if n == 0 else "enfant"}
            for n in range(count)]


def _alike(env, names, *, birth: str, sector: str, resources: str, size: int = 2) -> list[int]:
    ids = []
    for name in names:
        members = _members(name, size)
        members[0]["birth_date"] = birth
        ids.append(household(env, name, sector=sector, monthly_resources=resources, members=members))
    return ids


def test_a_household_alone_in_its_combination_is_masked_and_five_alike_are_kept(env):
    from asll.services.exports import pseudonym, tenant_secret

    alike = _alike(env, ("Abel", "Blin", "Caron", "Diot", "Egal"), birth="1958-07-14", sector="Centre",
                   resources="612.50")
    # Five that differ by age bracket (3 + 2) and resources band: together once generalised.
    young = (_alike(env, ("Fabre", "Gilles", "Henry"), birth="1990-05-01", sector="Ondaine", resources="420")
             + _alike(env, ("Ibos", "Jouve"), birth="2004-05-01", sector="Ondaine", resources="760"))
    [alone] = _alike(env, ("Zorgui",), birth="2001-02-03", sector="Forez", resources="2740", size=7)

    header, rows = _rows(env.admin, "households", QUASI)

    secret = tenant_secret(env.tenant_id)
    by_id = {}
    for household_id in alike + young + [alone, env.world.loire.household.id]:
        [by_id[household_id]] = [r for r in rows if r["Pseudonyme du ménage"] == pseudonym(secret, "household",
                                                                                             household_id)]
    assert len(rows) == 12  # no row is ever dropped
    for household_id in alike:
        row = by_id[household_id]
        assert (row["Tranche d'âge"], row["Secteur"], row["Nature des ressources"],
                row["Ressources mensuelles (tranche)"], row["Nombre de personnes"], row[header[-1]]) == (
            "60 ans et plus", "Centre", "RSA", "500 à 999 €", "2", "")
    for household_id in young:
        row = by_id[household_id]
        assert (row["Tranche d'âge"], row["Secteur"], row["Ressources mensuelles (tranche)"], row[header[-1]]) == (
            "Moins de 40 ans", "Ondaine", "Moins de 1 000 €", "généralisées")
    row = by_id[alone]
    assert {row[c] for c in ("Tranche d'âge", "Secteur", "Statut d'occupation", "Nature des ressources",
                             "Ressources mensuelles (tranche)", "Nombre de personnes")} == {"(masqué)"}
    assert row[header[-1]] == "masquées" and row["Date de création"] == "03/2026"  # dates stay, to the month
    masked = sum(1 for r in rows if r[header[-1]] == "masquées")
    assert masked == 2  # the lone household and the factory's, alone in its sector too
    assert header[-1] == f"Valeurs masquées (k = 5 : {masked} ligne(s) masquée(s), 5 généralisée(s) sur 12)"
    content = "\n".join(";".join(r.values()) for r in rows)
    assert "2740" not in content and "2 740" not in content and "612" not in content and "Forez" not in content
    assert ";7;" not in ";" + content + ";"

    # A named export keeps every value; the admin's k (audited) decides how rare is too rare.
    _header, named = _rows(env.admin, "households", ["household_reference", "sector", "members"],
                           pseudonymised=False)
    assert {r["Secteur"] for r in named} >= {"Forez", "Ondaine", "Centre"}
    saved = policy_service.update_policy(env.admin, {"active_months": 24, "archive_enabled": True,
                                                     "archive_years": 10, "audit_months": 12, "export_k": 3}, 0)
    assert saved.export_k == 3
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "rgpd.policy"))
    assert entry.changes == {"export_k": [5, 3]}
    header, rows = _rows(env.admin, "households", QUASI)
    assert header[-1].startswith("Valeurs masquées (k = 3 : ")
    fabre = [r for r in rows if r["Pseudonyme du ménage"] == pseudonym(secret, "household", young[0])][0]
    assert (fabre["Tranche d'âge"], fabre[header[-1]]) == ("25 à 39 ans", "")  # 3 alike are enough now


def test_masking_leaves_the_yearly_counts_of_the_export_unchanged(env):
    for name in ("Lebrun", "Marty"):
        household(env, name, sector="Centre")
    env.clock.to("2027-02-10")
    for name in ("Nadal", "Olier", "Perrin"):
        household(env, name, sector=f"Secteur {name}")  # each alone in its sector: masked
    _header, named = _rows(env.admin, "households", QUASI, pseudonymised=False)
    header, pseudonymised = _rows(env.admin, "households", QUASI)
    assert sum(1 for r in pseudonymised if r[header[-1]] == "masquées") >= 3

    def per_year(rows):
        return Counter(r["Date de création"][-4:] for r in rows)

    assert per_year(pseudonymised) == per_year(named) == Counter({"2026": 3, "2027": 3})


def test_the_export_pages_say_what_the_pseudonymised_variant_keeps_and_masks(app, world, client):
    import html as html_module

    from asll.models import Role
    from tests.conftest import csrf_token, login

    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    page = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    text = html_module.unescape(page)
    assert "Ce qu'il garde" in text and "Ce qu'il retire" in text and "Ce qu'il masque" in text
    assert "2 500 € et plus" in text and "« 6 et plus »" in text and "au moins k lignes" in text
    assert "remplacées par « (masqué) »" in text and "Aucune ligne n'est retirée" in text
    posted = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(page), "dataset": "households", "file_format": "csv", "pseudonymised": "y",
        "columns_households": ["household_reference", "sector", "members"]})
    assert posted.status_code == 302
    job_page = html_module.unescape(client.get(posted.headers["Location"]).get_data(as_text=True))
    assert "oui : sans nom, adresse, date de naissance, montant exact ni texte libre" in job_page
    assert "généralisées puis masquées (« (masqué) »)" in job_page
