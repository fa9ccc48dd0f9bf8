"""Every rule of the Loire (seeds 000 and 003), walked through the services with a fixed clock.

Refusals are checked with their French messages and leave the database unchanged;
warnings (sector, capacities, same worker) come back with their figures.
"""

from __future__ import annotations

import sqlalchemy as sa

import asll_loire.plugin as loire
from asll.extensions import db
from asll.models import Measure, MeasureStatus, Request, RequestStatus
from asll.services import decisions, documents, requests
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import ServiceError, ValidationFailed
from asll.services.measures import RuleViolation
from asll.tenancy import tenant_context
from asll_loire.models import LoireAmlDwelling
from asll_loire.reports import export_columns, statistics
from tests.core.workflow_support import refused
from tests.plugins.loire.support import (
    CLU_FORMS,
    decide,
    draft,
    granted,
    household,
    in_session,
    measure_row,
    obligations,
    schedule,
    started,
    step,
    submitted,
)


def _codes(error) -> list[str]:
    return [v.code for v in error.violations]


def _messages(warnings) -> dict[str, str]:
    return {w.code: w.message for w in warnings}


# -- requests: CLU, CLT, recommendations, actions spécifiques ------------------------------------
def test_clu_instructs_individual_requests_on_imprime_42_and_fiche_asll(env):
    request_id = draft(env, loire.ACCES, extra={})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, request_id)
    assert exc.fields == {"extra": {
        "imprime_42": ["L'imprimé 42 doit accompagner la demande : la CLU instruit la demande sur l'imprimé 42 et "
                       "la fiche ASLL."],
        "fiche_asll": ["La fiche ASLL doit accompagner la demande : la CLU instruit la demande sur l'imprimé 42 "
                       "et la fiche ASLL."]}}
    exc = refused(ValidationFailed, requests.save_draft, env.prescriber, {"extra": {"imprime_42": False}},
                  request_id)
    assert exc.fields["extra"]["imprime_42"][0].startswith("L'imprimé 42 doit accompagner la demande")
    requests.save_draft(env.prescriber, {"extra": {"imprime_42": True, "fiche_asll": True}}, request_id)
    request = requests.submit(env.prescriber, request_id)
    assert (request.status, request.commission_code) == (RequestStatus.SUBMITTED, loire.CLU)
    for measure_type in (loire.MAINTIEN, loire.DIAGNOSTIC):
        assert requests.submit(env.prescriber, draft(env, measure_type)).commission_code == loire.CLU


def test_clt_or_ddass_instructs_bail_glissant_decided_in_clt(env):
    request_id = draft(env, loire.BAIL_GLISSANT, extra={})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, request_id)
    assert exc.fields == {"extra": {"instruction": [
        "Indiquez qui instruit la demande de bail glissant : la CLT ou la DDASS (fichier prioritaire)."]}}
    exc = refused(ValidationFailed, requests.save_draft, env.prescriber, {"extra": {"instruction": "caf"}},
                  request_id)
    assert exc.fields["extra"]["instruction"][0].startswith("Indiquez qui instruit la demande de bail glissant")
    requests.save_draft(env.prescriber, {"extra": {"instruction": "ddass"}}, request_id)
    assert requests.submit(env.prescriber, request_id).commission_code == loire.CLT
    assert [r.id for r in decisions.pending_requests(env.secretary, loire.CLT)] == [request_id]
    assert decisions.pending_requests(env.secretary, loire.CLU) == []
    decision = decide(env, request_id, {"outcome": "granted", "operator_id": env.org("CALL-PACT St Etienne")})
    assert decision.session.commission_code == loire.CLT
    assert measure_row(decision.measure_id).status is MeasureStatus.OPERATOR_ASSIGNED


def test_clt_fsl_sdapl_may_recommend_a_measure_and_the_clu_may_alert(env):
    request_id = draft(env, loire.ACCES)
    exc = refused(ValidationFailed, requests.save_draft, env.prescriber,
                  {"extra": {**CLU_FORMS, "preconisee_par": "CAF"}}, request_id)
    assert exc.fields == {"extra": {"preconisee_par": [
        "Instance inconnue : une mesure peut être préconisée par la CLT, le FSL ou la SDAPL, ou faire suite à une "
        "alerte de la CLU."]}}
    for recommender in ("CLT", "FSL", "SDAPL", "CLU"):
        requests.save_draft(env.prescriber, {"extra": {**CLU_FORMS, "preconisee_par": recommender}}, request_id)
    requests.submit(env.prescriber, request_id)
    measure_id = decide(env, request_id, {"outcome": "granted", "operator_id": env.org("AGASEF")}).measure_id
    column = {c.key: c for c in export_columns()}["loire_preconisee_par"]
    assert column.value(measure_row(measure_id)) == "Alerte de la Commission logement unique (CLU)"
    fsl = plugin_service.commissions(env.tenant_id)[loire.FSL]
    assert fsl.role.value == "advises" and "co-présidée" in fsl.description.lower()


def test_actions_specifiques_go_straight_to_their_association_with_its_criteria(env):
    ariv = draft(env, loire.ARIV, extra={})
    travellers = {"extra": {"gens_du_voyage_sedentarisation": [
        "L'action spécifique ARIV est réservée aux gens du voyage en voie de sédentarisation."]}}
    assert refused(ValidationFailed, requests.submit, env.prescriber, ariv).fields == travellers
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"extra": {"gens_du_voyage_sedentarisation": False}}, ariv).fields == travellers
    aralis = draft(env, loire.ARALIS, extra={})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, aralis)
    assert exc.fields == {"extra": {
        "resident_foyer_aralis": ["L'action spécifique ARALIS est réservée aux résidents des foyers ARALIS."],
        "capacite_logement_autonome": ["L'action spécifique ARALIS accompagne des résidents en capacité d'accéder "
                                       "à un logement autonome, en vue de leur sortie du foyer."]}}
    requests.save_draft(env.prescriber, {"extra": {"gens_du_voyage_sedentarisation": True}}, ariv)
    request = requests.submit(env.prescriber, ariv)
    assert request.commission_code is None  # no commission: the association is seized directly
    exc = refused(RuleViolation, decisions.decide_alone, env.agent, ariv,
                  {"outcome": "granted", "decision_date": "2026-03-10"})
    assert exc.message == ("Une action spécifique ARIV est confiée directement à l'association ARIV : désignez-la "
                           "comme opérateur.")
    exc = refused(RuleViolation, decisions.decide_alone, env.agent, ariv,
                  {"outcome": "granted", "decision_date": "2026-03-10", "operator_id": env.org("AGASEF")})
    assert exc.message == "L'action spécifique ARIV est exercée par l'association ARIV, pas par AGASEF."
    decision = decisions.decide_alone(env.agent, ariv, {"outcome": "granted", "decision_date": "2026-03-10",
                                                        "operator_id": env.org("ARIV")})
    measure_id = decision.measure_id
    assert measure_row(measure_id).status is MeasureStatus.OPERATOR_ASSIGNED
    exc = refused(RuleViolation, step, env, measure_id, "transfer",
                  {"operator_id": env.org("ARALIS"), "transfer_date": "2026-04-01", "reason": "other"})
    assert "association_imposee" in _codes(exc)


# -- durations and prolongation ----------------------------------------------------------------
def test_six_months_by_default_three_in_particular_cases(env):
    request_id = submitted(env)
    session_id = schedule(env, request_id)
    exc = refused(ValidationFailed, in_session, env, session_id, request_id, {"outcome": "granted",
                                                                            "duration_months": 4})
    assert exc.violations[0].message == ("Une mesure d'ASLL est attribuée pour 6 mois, ou pour 3 mois dans des cas "
                                         "particuliers (et non pour 4 mois).")
    exc = refused(ValidationFailed, in_session, env, session_id, request_id, {"outcome": "granted",
                                                                            "duration_months": 3})
    assert _codes(exc) == ["cas_particulier_manquant"]
    assert exc.violations[0].message == "Précisez le cas particulier qui justifie une mesure de 3 mois."
    short = in_session(env, session_id, request_id, {"outcome": "granted", "duration_months": 3,
                                     "extra": {"cas_particulier": "Logement déjà trouvé : installation seule."}})
    assert measure_row(short.measure_id).granted_months == 3
    default = decide(env, submitted(env), {"outcome": "granted"})
    assert measure_row(default.measure_id).granted_months == 6


def test_renewable_once_on_request_to_the_commission_that_notified_it(env):
    measure_id = started(env)
    step(env, measure_id, "request_prolongation", {"request_date": "2026-08-20", "months": 6,
                                                   "reason": "Relogement attendu en octobre."})
    exc = refused(ValidationFailed, step, env, measure_id, "grant_prolongation",
                  {"decision_date": "2026-09-01", "extra": {"commission": "CCAPEX"}})
    assert exc.fields == {"extra": {"commission": [
        "Commission inconnue : la prolongation est examinée par la CLU ou la CLT."]}}
    exc = refused(RuleViolation, step, env, measure_id, "grant_prolongation",
                  {"decision_date": "2026-09-01", "extra": {"commission": "CLT"}}, env.secretary)
    assert exc.message == "La prolongation se demande à la CLU, qui a notifié la mesure."
    step(env, measure_id, "grant_prolongation", {"decision_date": "2026-09-01", "extra": {"commission": "CLU"}},
         env.secretary)
    row = measure_row(measure_id)
    assert (row.prolongation_count, row.prolonged_months, row.planned_end_date.isoformat()) == (1, 6, "2027-03-20")
    assert row.extra["prolongation_examinee_par"] == loire.CLU
    exc = refused(RuleViolation, step, env, measure_id, "request_prolongation",
                  {"request_date": "2027-02-01", "months": 3, "reason": "Encore."})
    assert _codes(exc)[0] == "prolongations_epuisees"
    assert exc.message.startswith("Ce type de mesure ne peut être prolongé que 1 fois.")
    # a bail glissant is prolonged by the CLT that notified it
    glissant = started(env, loire.BAIL_GLISSANT, "CALL-PACT St Etienne")
    step(env, glissant, "request_prolongation", {"request_date": "2026-08-20", "months": 6, "reason": "Glissement."})
    exc = refused(RuleViolation, step, env, glissant, "refuse_prolongation",
                  {"decision_date": "2026-09-01", "reason": "Non.", "extra": {"commission": "CLU"}})
    assert exc.message == "La prolongation se demande à la CLT, qui a notifié la mesure."
    step(env, glissant, "refuse_prolongation", {"decision_date": "2026-09-01", "reason": "Bail prêt à glisser."})
    assert measure_row(glissant).extra["prolongation_examinee_par"] == loire.CLT  # the CLT by default


# -- operators: sector, capacities, reinforced follow-up ------------------------------------------
def test_assignment_outside_the_sector_is_warned_with_the_sectors(env):
    measure_id = granted(env, operator=None, household_id=household(env, "Roannais"))
    measure, warnings = step(env, measure_id, "assign_operator", {"operator_id": env.org("AGASEF"),
                                                                  "notified_date": "2026-03-12"})
    assert measure.status is MeasureStatus.OPERATOR_ASSIGNED
    assert _messages(warnings) == {"hors_secteur": "Hors secteur : le ménage relève du secteur « Roannais » et AGASEF "
                                                   "intervient sur : St Etienne Gier/Pilat, Ondaine."}
    # "Loire sauf Roanne", "Département" and the Roanne area are read as the seed says
    for sector, operator, warned in (("Ondaine", "RENAITRE", False), ("Roannais", "RENAITRE", True),
                                     ("Roannais", "Entraide Pierre Valdo", False),
                                     ("Roannais", "CAL-PACT Roanne", False), ("Forez", "ARALIS", False)):
        other = granted(env, operator=None, household_id=household(env, sector))
        _m, warnings = step(env, other, "assign_operator", {"operator_id": env.org(operator),
                                                            "notified_date": "2026-03-12"})
        assert ("hors_secteur" in _messages(warnings)) is warned, (sector, operator)
    unknown = granted(env, operator=None, household_id=household(env, ""))
    _m, warnings = step(env, unknown, "assign_operator", {"operator_id": env.org("AGASEF")})
    assert list(_messages(warnings)) == ["secteur_inconnu"]


def test_assignment_beyond_monthly_capacity_is_warned_with_the_figures(env):
    first = [granted(env, loire.BAIL_GLISSANT, "CAL-PACT Roanne", household_id=household(env, "Roanne"))
             for _ in range(7)]  # CAL-PACT Roanne: 7 households a month
    step(env, first[0], "end", {"end_date": "2026-03-15", "reason": "not_met"})  # an ended measure frees a place
    eighth = granted(env, loire.BAIL_GLISSANT, None, household_id=household(env, "Roanne"))
    _m, warnings = step(env, eighth, "assign_operator", {"operator_id": env.org("CAL-PACT Roanne")})
    assert warnings == []
    ninth = granted(env, loire.BAIL_GLISSANT, None, household_id=household(env, "Roanne"))
    _m, warnings = step(env, ninth, "assign_operator", {"operator_id": env.org("CAL-PACT Roanne")})
    assert _messages(warnings) == {"capacite_depassee": "Capacité dépassée : CAL-PACT Roanne suit déjà 7 ménage(s) "
                                                        "pour une capacité de 7 ménages par mois (8 avec celui-ci)."}


def test_assignment_beyond_yearly_capacity_is_warned_with_the_figures(env):
    for _ in range(34):  # ARALIS: 34 households a year
        granted(env, loire.ARALIS, "ARALIS", household_id=household(env, "Forez"), on="2026-02-10")
    resident = granted(env, loire.ACCES, None, household_id=household(env, "Forez"))
    _m, warnings = step(env, resident, "assign_operator", {"operator_id": env.org("ARALIS"),
                                                           "notified_date": "2026-06-01"})
    assert _messages(warnings) == {"capacite_depassee": "Capacité dépassée : ARALIS a déjà reçu 34 mesure(s) en 2026 "
                                                        "pour une capacité de 34 ménages à l'année (35 avec "
                                                        "celle-ci)."}
    _m, warnings = step(env, resident, "assign_operator", {"operator_id": env.org("ARALIS"),
                                                           "notified_date": "2027-01-05"})
    assert warnings == []  # a new year, a new capacity


def test_reinforced_follow_up_needs_its_reason_and_the_clu_for_a_bail_glissant(env):
    request_id = submitted(env, loire.MAINTIEN)
    session_id = schedule(env, request_id)
    exc = refused(ValidationFailed, in_session, env, session_id, request_id, {"outcome": "granted", "reinforced": True})
    assert exc.violations[0].message == ("Précisez les difficultés particulières (notamment psychologiques) qui "
                                         "justifient un suivi renforcé.")
    decision = in_session(env, session_id, request_id, {"outcome": "granted", "reinforced": True,
                                                        "extra": {"motif_suivi_renforce": "Psychologiques."}})
    assert measure_row(decision.measure_id).reinforced
    glissant = submitted(env, loire.BAIL_GLISSANT)
    session_id = schedule(env, glissant)
    exc = refused(ValidationFailed, in_session, env, session_id, glissant, {
        "outcome": "granted", "reinforced": True, "extra": {"motif_suivi_renforce": "Troubles psychiques."}})
    assert exc.violations[0].message == ("Un suivi renforcé en bail glissant est validé par la CLU : indiquez la date "
                                         "de sa validation.")
    decision = in_session(env, session_id, glissant, {
        "outcome": "granted", "reinforced": True, "operator_id": env.org("ANEF"),
        "extra": {"motif_suivi_renforce": "Troubles psychiques.", "validation_clu_le": "2026-02-20"}})
    assert measure_row(decision.measure_id).extra == {"motif_suivi_renforce": "Troubles psychiques.",
                                                      "validation_clu_le": "2026-02-20"}


def test_reinforced_capacity_is_warned_with_the_figures(env):
    reason = {"motif_suivi_renforce": "Difficultés psychologiques."}
    for _ in range(2):  # SIESI Roanne: 12 households a month, 2 of them reinforced
        granted(env, loire.MAINTIEN, "ADSEA 42 – SIESI Roanne", household_id=household(env, "Roannais"),
                reinforced=True, extra=reason)
    third = granted(env, loire.MAINTIEN, None, household_id=household(env, "Roannais"), reinforced=True, extra=reason)
    _m, warnings = step(env, third, "assign_operator", {"operator_id": env.org("ADSEA 42 – SIESI Roanne")})
    assert _messages(warnings) == {"capacite_renforcee_depassee": "Suivis renforcés : ADSEA 42 – SIESI Roanne en "
                                                                  "assure déjà 2 pour une capacité de 2 (3 avec "
                                                                  "celui-ci)."}
    fourth = granted(env, loire.MAINTIEN, None, reinforced=True, extra=reason)
    _m, warnings = step(env, fourth, "assign_operator", {"operator_id": env.org("AGASEF")})
    assert _messages(warnings) == {"suivi_renforce_sans_capacite": "AGASEF n'a pas de capacité de suivis renforcés "
                                                                   "dans la liste des associations."}


def test_the_same_worker_keeps_the_household_when_it_moves(env):
    measure_id = started(env)
    _m, warnings = step(env, measure_id, "transfer", {"operator_id": env.org("ANEF"), "transfer_date": "2026-05-02",
                                                      "reason": "move"})
    assert _messages(warnings) == {"meme_intervenant": "La charte recommande que la mesure soit assurée par le même "
                                                       "intervenant, même lorsqu'il y a déménagement."}


# -- end: hand-over, bilan, landlord, re-intervention, non-cumulation --------------------------------
def test_end_hands_over_to_the_instructing_service_unless_the_household_broke_off(env):
    measure_id = started(env)
    step(env, measure_id, "end", {"end_date": "2026-09-20", "reason": "term"})
    assert measure_row(measure_id).hand_over_to == f"Service instructeur initial : {env.prescriber_name}"
    other = started(env)
    step(env, other, "end", {"end_date": "2026-06-20", "reason": "term", "hand_over_to": "CCAS de Firminy"})
    assert measure_row(other).hand_over_to == "CCAS de Firminy"
    broke = started(env)
    step(env, broke, "end", {"end_date": "2026-05-02", "reason": "broke_off"})
    assert measure_row(broke).hand_over_to == ""
    assert "loire_bilan" not in obligations(broke)


def test_bilan_signed_by_worker_and_household_returned_to_the_notifying_commission(env):
    measure_id = started(env, loire.BAIL_GLISSANT, "CALL-PACT St Etienne")
    step(env, measure_id, "end", {"end_date": "2026-09-20", "reason": "term"})
    assert obligations(measure_id)["loire_bilan"] == (
        "open", measure_row(measure_id).end_date.replace(month=10), "Bilan signé par l'intervenant et le ménage, "
                                                                     "retourné à la CLT")
    for data in ({"signed_by_household": True}, {"extra": {"signe_par_intervenant": True}}):
        exc = refused(RuleViolation, step, env, measure_id, "record_bilan",
                      {"bilan_date": "2026-10-01", "summary": "Bail glissé.", **data})
        assert exc.message == "Le bilan doit être signé par l'intervenant ASLL et par le ménage."
    step(env, measure_id, "record_bilan", {"bilan_date": "2026-10-01", "summary": "Bail glissé.",
                                           "signed_by_household": True, "extra": {"signe_par_intervenant": True}})
    row = measure_row(measure_id)
    assert (row.status, row.extra["bilan_retourne_a"]) == (MeasureStatus.BILAN_RECEIVED, loire.CLT)
    assert obligations(measure_id)["loire_bilan"][0] == "done"


def test_landlord_informed_of_the_grant_and_of_the_end_or_interruption(env):
    tenant_household = household(env, landlord=True)
    measure_id = granted(env, household_id=tenant_household, on="2026-03-10")
    state, due, label = obligations(measure_id)["loire_bailleur_attribution"]
    assert (state, due.isoformat(), label) == ("open", "2026-03-25", "Informer le bailleur de l'attribution de la "
                                                                     "mesure (secrétariat du FSL)")
    decision = decisions.decision_for_measure(measure_row(measure_id))
    letters = documents.decision_letters(env.secretary, decision.id)
    assert "landlord" in {d.recipient for d in letters}
    step(env, measure_id, "start", {"start_date": "2026-03-20"})
    assert obligations(measure_id)["loire_bailleur_attribution"][0] == "done"
    step(env, measure_id, "end", {"end_date": "2026-09-20", "reason": "term"})
    state, due, label = obligations(measure_id)["loire_bailleur_fin"]
    assert (state, due.isoformat(), label) == ("open", "2026-10-05", "Informer le bailleur de la fin de la mesure")
    step(env, measure_id, "record_bilan", {"bilan_date": "2026-10-01", "summary": "Relogés.",
                                           "signed_by_household": True, "extra": {"signe_par_intervenant": True}})
    exc = refused(RuleViolation, step, env, measure_id, "close", {"close_date": "2026-10-10"})
    assert exc.message == ("Le bailleur doit être informé de la fin ou de l'interruption de la mesure avant sa "
                           "clôture : indiquez la date à laquelle l'opérateur l'a informé.")
    step(env, measure_id, "close", {"close_date": "2026-10-10", "extra": {"bailleur_informe_fin_le": "2026-10-02"}})
    assert obligations(measure_id)["loire_bailleur_fin"][0] == "done"
    interrupted = started(env, household_id=household(env, landlord=True, name="Petit"))
    step(env, interrupted, "end", {"end_date": "2026-04-20", "reason": "broke_off",
                                   "extra": {"bailleur_informe_fin_le": "2026-04-21"}})
    assert obligations(interrupted)["loire_bailleur_fin"][::2] == ("done", "Informer le bailleur de "
                                                                           "l'interruption de la mesure")


def test_term_reminds_the_end_or_the_renewal_request(env):
    measure_id = started(env, start="2026-03-20")
    assert obligations(measure_id)["loire_echeance"] == (
        "open", measure_row(measure_id).planned_end_date,
        "Échéance : fin de la mesure ou demande de reconduction à la CLU")
    step(env, measure_id, "end", {"end_date": "2026-09-20", "reason": "term"})
    assert obligations(measure_id)["loire_echeance"][0] == "done"


def test_reintervention_is_possible_after_the_end_not_during_a_measure(env):
    household_id = household(env)
    first = started(env, household_id=household_id)
    request_id = submitted(env, loire.MAINTIEN, household_id)
    session_id = schedule(env, request_id)
    exc = refused(ValidationFailed, in_session, env, session_id, request_id, {"outcome": "granted"})
    reference = measure_row(first).reference
    assert exc.violations[0].message == (f"Le ménage bénéficie déjà de la mesure {reference} en cours : une "
                                         "ré-intervention ne peut être demandée qu'après sa fin.")
    step(env, first, "end", {"end_date": "2026-09-20", "reason": "term"})
    again = in_session(env, session_id, request_id, {"outcome": "granted", "operator_id": env.org("AGASEF")})
    assert measure_row(again.measure_id).extra["reintervention_apres"] == reference
    column = {c.key: c for c in export_columns()}["loire_reintervention"]
    assert column.value(measure_row(again.measure_id)) == reference


def test_charter_non_cumulation_list(env):
    household_id = household(env)
    requests.add_support_measure(env.prescriber, household_id, {"code": "MASP", "start_date": "2026-01-01"})
    granted(env, household_id=household_id)  # MASP is not in the Loire's list
    for code in ("TPF", "PROTECTION_MAJEUR", "SUIVI_RSA", "AEMO"):
        other = household(env, name=code)
        requests.add_support_measure(env.prescriber, other, {"code": code, "start_date": "2026-01-01"})
        request_id = submitted(env, household_id=other)
        session_id = schedule(env, request_id)
        exc = refused(ValidationFailed, in_session, env, session_id, request_id, {"outcome": "granted"})
        assert _codes(exc) == ["cumul_interdit"]
        assert exc.violations[0].message.startswith("Cumul interdit : le ménage bénéficie de « ")


# -- AML and statistics -------------------------------------------------------------------------
def test_aml_dwellings_per_association_and_year(env):
    mandate = started(env, start="2026-03-20", start_extra={"logement_mandat_gestion": True})
    assert db.session.scalar(sa.select(LoireAmlDwelling.mode).where(LoireAmlDwelling.measure_id == mandate)) == \
        "mandat_gestion"
    glissant = started(env, loire.BAIL_GLISSANT, "CALL-PACT St Etienne", start="2026-03-20")
    exc = refused(RuleViolation, step, env, glissant, "end", {"end_date": "2026-09-20", "reason": "term",
                                                              "extra": {"bail_glisse_le": "2026-10-01"}})
    assert exc.message == "Le bail doit avoir glissé au ménage pendant la mesure (entre son début et sa fin)."
    step(env, glissant, "end", {"end_date": "2026-09-20", "reason": "term", "extra": {"bail_glisse_le": "2026-09-01"}})
    earlier = started(env, loire.BAIL_GLISSANT, "RENAITRE", start="2026-03-20", household_id=household(env, "Forez"))
    step(env, earlier, "end", {"end_date": "2026-09-20", "reason": "term", "extra": {"bail_glisse_le": "2026-09-02"}})
    db.session.execute(sa.update(LoireAmlDwelling).where(LoireAmlDwelling.measure_id == earlier)
                       .values(year=2025))  # as if it had slid the year before
    tables = {t.key: t for t in statistics(2026, {}, [])}
    assert tables["loire.aml"].columns == ("Logements mobilisés", "2025", "2026")
    assert tables["loire.aml"].rows == (("Mandat de gestion", 0, 1), ("Bail glissant", 1, 1),
                                        ("Total aide à la médiation locative", 1, 2))
    assert tables["loire.aml_associations"].rows == (("AGASEF", 1, 0), ("CALL-PACT St Etienne", 0, 1))


def test_followups_by_nature_and_reinforced_statistics(env, world):
    for measure_type, operator in ((loire.ACCES, "AGASEF"), (loire.ACCES, "AGASEF"), (loire.ACCES, "ANEF"),
                                   (loire.MAINTIEN, "AGASEF"), (loire.DIAGNOSTIC, "AGASEF")):
        started(env, measure_type, operator, household_id=household(env, "Ondaine"))
    started(env, loire.MAINTIEN, "ANEF", reinforced=True, extra={"motif_suivi_renforce": "Psychologique."})
    granted(env)  # not started: not followed yet
    tables = {t.key: t for t in statistics(2026, {}, [])}
    rows = {r[0]: r[1:] for r in tables["loire.suivis"].rows}
    assert rows["ASLL accès (recherche, installation dans le logement)"] == (3, 50)
    assert rows["ASLL maintien (prévention des expulsions)"] == (2, 33)
    assert rows["ASLL diagnostic (définition du projet logement)"] == (1, 17)
    assert rows["Total"] == (6, 100)
    assert tables["loire.suivis_renforces"].rows == (("ANEF", 1, 13), ("Total", 1, 13))
    assert {t.key: t for t in statistics(2025, {}, [])}["loire.suivis"].rows[-1] == ("Total", 0, 0)
    with tenant_context(world.orne.tenant.id):  # another département sees none of these measures
        assert {t.key: t for t in statistics(2026, {}, [])}["loire.suivis"].rows[-1] == ("Total", 0, 0)


# -- the plugin per tenant --------------------------------------------------------------------
def test_disabling_the_plugin_hides_its_types_and_commissions_and_keeps_the_cases(env, app):
    measure_id = started(env)
    pending = submitted(env)
    stored = {m.id: (m.status, m.measure_type) for m in db.session.scalars(sa.select(Measure))}
    requests_before = {r.id: r.status for r in db.session.scalars(sa.select(Request))}
    plugin_service.set_enabled(Actor.system(), env.tenant_id, "loire", False)
    assert not any(code.startswith("loire.") for code in plugin_service.measure_types(env.tenant_id))
    assert not any(code.startswith("loire.") for code in plugin_service.commissions(env.tenant_id))
    exc = refused(ValidationFailed, requests.save_draft, env.prescriber,
                  {"household_id": household(env), "measure_type": loire.ACCES})
    assert exc.fields == {"measure_type": ["Type de mesure inconnu dans ce département."]}
    exc = refused(ServiceError, step, env, measure_id, "end", {"end_date": "2026-04-01", "reason": "term"})
    assert exc.code == "type_inconnu"
    assert {m.id: (m.status, m.measure_type) for m in db.session.scalars(sa.select(Measure))} == stored
    assert {r.id: r.status for r in db.session.scalars(sa.select(Request))} == requests_before
    plugin_service.set_enabled(Actor.system(), env.tenant_id, "loire", True)
    assert loire.ACCES in plugin_service.measure_types(env.tenant_id)
    assert requests._visible_request(env.agent, pending).status is RequestStatus.SUBMITTED
