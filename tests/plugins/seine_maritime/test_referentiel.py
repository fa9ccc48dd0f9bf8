"""Every rule of the Seine-Maritime référentiel ASLL (2021, seed 002), through the services, fixed clock.

One test per rule at least, refusals included with their French messages, and every delay in
calendar months checked on both sides of its boundary (month ends clamp: one month after
31 January is 28 February 2026). Every refusal asserts that no row of the database changed.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Decision, DecisionOutcome, Document, MeasureStatus, Request, RequestStatus
from asll.services import decisions, documents, measures, requests
from asll.services.errors import PermissionDenied, ServiceError, ValidationFailed
from asll.services.measures import RuleViolation
from asll_seine_maritime.codes import ACCES, COMMISSION_LOCALE, DIAGNOSTIC_CCAPEX, MAINTIEN, SLS
from tests.core.workflow_support import refused
from tests.plugins.departement import DIAGNOSTIC, codes, day, measure_row, messages, obligation_states

REQUIRED = ["Ce champ est obligatoire."]


def derogation(avis_commission: str = "favorable", **values) -> dict:
    return {"objet": "Situation exceptionnelle du ménage.", "avis_sls": "favorable", "date_avis_sls": "2026-02-17",
            "avis_commission": avis_commission, "date_commission": "2026-02-24", **values}


def grant_refused(sm, request_id: int, session_date: str, **decision) -> ValidationFailed:
    """A grant refused in session: nothing recorded, the rules' violations kept on the error."""
    session_id = sm.session(session_date, [request_id])
    data = {"outcome": "granted", "duration_months": 6, "operator_id": sm.org("rouen"), **decision}
    error = refused(ValidationFailed, decisions.decide_in_session, sm.actor("secretary"), session_id,
                    {request_id: data})
    error.session_id = session_id  # the request stays on this session's agenda
    return error


def transition_refused(sm, who: str, measure_id: int, name: str, **data) -> RuleViolation:
    return refused(RuleViolation, measures.transition, sm.actor(who), measure_id, name, data)


def recompute(measure_id: int) -> dict:
    """What the core stores after a transition, recomputed now (the clock decides open or overdue)."""
    measures.recompute_obligations(measure_row(measure_id))
    db.session.commit()
    return obligation_states(measure_id)


# =====================================================================================
# §2.1.1 Request, §1.3 Exclusion and non-cumulation
# =====================================================================================
def test_a_request_comes_from_a_medico_social_professional_or_a_public_landlord_with_a_diagnostic(sm):
    prescriber, household = sm.actor("prescriber"), sm.household()
    base = {"household_id": household, "measure_type": ACCES, "diagnostic": DIAGNOSTIC,
            "consent_given_by": "Ana Durand", "consent_date": "2026-01-02"}
    exc = refused(ValidationFailed, requests.save_draft, prescriber,
                  {**base, "extra": {"demandeur": "caf", "professionnel": "M. Martin"}})
    assert exc.fields == {"extra": {"demandeur": [
        "La demande est formulée par un professionnel d'un organisme médico-social ou d'un bailleur public."]}}

    draft = requests.save_draft(prescriber, {**base, "extra": {"professionnel": "M. Martin"}})
    exc = refused(ValidationFailed, requests.submit, prescriber, draft.id)
    assert exc.fields == {"extra": {"demandeur": [
        "Précisez qui formule la demande : un professionnel d'un organisme médico-social ou d'un bailleur public."]}}

    without_diagnostic = requests.save_draft(prescriber, {
        **{k: v for k, v in base.items() if k != "diagnostic"},
        "extra": {"demandeur": "bailleur_public", "professionnel": "M. Leroy, gestion locative"}})
    exc = refused(ValidationFailed, requests.submit, prescriber, without_diagnostic.id)
    assert exc.fields == {"diagnostic": REQUIRED}

    filed = requests.save_draft(prescriber, {**base, "extra": {"demandeur": "bailleur_public",
                                                               "professionnel": "M. Leroy, gestion locative"}})
    submitted = requests.submit(prescriber, filed.id)
    assert (submitted.status, submitted.commission_code) == (RequestStatus.SUBMITTED, COMMISSION_LOCALE)
    assert submitted.extra["demandeur"] == "bailleur_public"


def test_households_leaving_a_chrs_or_cada_to_access_housing_go_to_the_avdl(sm):
    for structure, session_date in (("CHRS", "2026-01-13"), ("CADA", "2026-01-14")):
        request_id = sm.request(sortie_structure=structure)
        exc = grant_refused(sm, request_id, session_date)
        assert codes(exc.violations) == ["exclusion_avdl"]
        assert exc.violations[0].message == (
            f"Les ménages sortant de {structure} qui accèdent à un logement relèvent de l'accompagnement vers et "
            "dans le logement (AVDL) de l'État : l'ASLL ne peut être accordée.")
    # The commission redirects them to the State's AVDL instead.
    decision = decisions.decide_in_session(sm.actor("secretary"), exc.session_id, {
        request_id: {"outcome": "redirected", "redirected_to": "AVDL de l'État"}})[0]
    assert decision.outcome is DecisionOutcome.REDIRECTED
    # Leaving another kind of accommodation is no exclusion.
    granted = sm.decide(sm.request(sortie_structure="autre"), "2026-01-16")
    assert granted.measure_id is not None
    # The field belongs to access requests only.
    exc = refused(ValidationFailed, requests.save_draft, sm.actor("prescriber"), {
        "household_id": sm.household(), "measure_type": MAINTIEN,
        "extra": {"demandeur": "medico_social", "professionnel": "X", "sortie_structure": "CHRS"}})
    assert exc.fields == {"extra": {"sortie_structure": ["Champ inconnu."]}}


def test_the_asll_does_not_cumulate_with_other_judicial_or_administrative_support(sm):
    for code, label, session_date in (("MAJ", "Mesure d'accompagnement judiciaire (MAJ)", "2026-01-13"),
                                      ("AVDL", "Accompagnement vers et dans le logement (AVDL)", "2026-01-14")):
        household = sm.household(name=code)
        requests.add_support_measure(sm.actor("prescriber"), household, {"code": code, "start_date": "2025-06-01"})
        exc = grant_refused(sm, sm.request(household_id=household), session_date)
        assert codes(exc.violations) == ["cumul_interdit"]
        assert exc.violations[0].message == (
            f"Cumul interdit : le ménage bénéficie de « {label} » (depuis le 01/06/2025), incompatible avec "
            "« ASLL accès au logement ».")
    # A support measure that ended before the decision does not prevent it.
    household = sm.household(name="Ancienne")
    requests.add_support_measure(sm.actor("prescriber"), household, {"code": "MASP", "start_date": "2024-01-01",
                                                                      "end_date": "2025-12-31"})
    assert sm.decide(sm.request(household_id=household), "2026-01-15").measure_id is not None


def test_the_public_landlord_is_informed_with_the_households_consent_only(sm):
    landlord = sm.org("bailleur")
    without_consent = sm.household(name="Sansaccord", landlord_id=landlord, landlord_consent=False)
    exc = grant_refused(sm, sm.request(household_id=without_consent, bailleur_public_informe=True), "2026-01-13")
    assert codes(exc.violations) == ["bailleur_sans_accord"]
    assert messages(exc.violations) == ["Le bailleur public n'est informé de la demande qu'avec l'accord du ménage : "
                                        "cet accord n'est pas enregistré sur la fiche du ménage."]

    # §2.1.2: household, prescriber (and operator) are notified; the public landlord when the household agreed.
    with_consent = sm.household(name="Accord", landlord_id=landlord, landlord_consent=True)
    informed = sm.decide(sm.request(household_id=with_consent, bailleur_public_informe=True), "2026-01-14")
    silent = sm.decide(sm.request(household_id=without_consent), "2026-01-15")
    secretary = sm.actor("secretary")
    assert {d.recipient for d in documents.decision_letters(secretary, informed.id)} == {
        "household", "prescriber", "operator", "landlord"}
    assert {d.recipient for d in documents.decision_letters(secretary, silent.id)} == {
        "household", "prescriber", "operator"}
    assert db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.recipient == "landlord")) == 1


# =====================================================================================
# §2.1.2 Decision: binding opinion of the commission locale, the President's grant
# =====================================================================================
def test_the_commission_locale_gives_a_binding_opinion_and_the_decision_date_is_its_date(sm):
    request_id = sm.request()
    exc = refused(ServiceError, decisions.decide_alone, sm.actor("agent"), request_id,
                  {"outcome": "granted", "decision_date": "2026-01-10"})
    assert exc.message == "Cette demande relève de la commission « Commission locale ASLL »."

    session_id = sm.session("2026-01-20", [request_id])
    [decision] = decisions.decide_in_session(sm.actor("secretary"), session_id, {request_id: {
        "outcome": "granted", "decision_date": "2026-01-25", "operator_id": sm.org("rouen")}})
    measure = measure_row(decision.measure_id)
    assert decision.decision_date == measure.decision_date == day("2026-01-20")
    assert measure.extra["avis_conforme_commission_locale"] == "2026-01-20"
    assert measure.extra["accordee_par"] == "Président du Conseil départemental (ou son représentant)"
    assert (measure.granted_months, measure.status) == (6, MeasureStatus.OPERATOR_ASSIGNED)

    # Granting an ASLL outside the commission locale (here by the SLS, turning a diagnostic into an
    # ASLL accès) is refused.
    diagnostic_request = sm.request(DIAGNOSTIC_CCAPEX)
    exc = refused(RuleViolation, decisions.decide_alone, sm.actor("agent"), diagnostic_request, {
        "outcome": "granted", "decision_date": "2026-01-21", "measure_type": ACCES, "operator_id": sm.org("rouen")})
    assert codes(exc.violations) == ["avis_conforme_requis"]
    assert messages(exc.violations) == [
        "Une mesure d'ASLL est accordée par le Président du Département sur avis conforme de la commission locale "
        "ASLL : enregistrez la décision en séance de la commission locale."]


def test_a_measure_is_granted_for_six_months_at_most(sm):
    request_id = sm.request()
    exc = grant_refused(sm, request_id, "2026-01-20", duration_months=7)
    reference = db.session.scalar(sa.select(Request.reference).where(Request.id == request_id))
    assert exc.fields == {reference: {"duration_months": ["« ASLL accès au logement » dure au plus "
                                                                          "6 mois."]}}
    measure = measure_row(sm.decide(sm.request(MAINTIEN), "2026-01-21", duration_months=4).measure_id)
    assert measure.granted_months == 4


# =====================================================================================
# §2.2.2 Start, contract and action plan
# =====================================================================================
def test_the_operator_starts_within_the_month_after_the_decision_31_january_to_28_february(sm):
    late, on_time = sm.granted("2026-01-31"), sm.granted("2026-01-31")
    assert obligation_states(on_time)["demarrage"] == ("open", day("2026-02-28"))
    exc = transition_refused(sm, "rouen", late, "start", start_date="2026-03-01")
    assert codes(exc.violations) == ["demarrage_tardif"]
    assert messages(exc.violations) == [
        "L'organisme doit débuter l'accompagnement dans le mois qui suit la décision de la commission locale ASLL "
        "du 31/01/2026 : au plus tard le 28/02/2026."]
    assert sm.act("rouen", on_time, "start", start_date="2026-02-28") == []
    assert obligation_states(on_time)["demarrage"] == ("done", day("2026-02-28"))
    # The reminder side: open on the last day, overdue the day after.
    sm.clock.to("2026-02-28")
    assert recompute(late)["demarrage"] == ("open", day("2026-02-28"))
    sm.clock.to("2026-03-01")
    assert recompute(late)["demarrage"] == ("overdue", day("2026-02-28"))


def test_the_contract_dated_at_the_start_is_sent_to_the_sls_within_a_month(sm):
    on_time, late = sm.started("2026-01-31"), sm.started("2026-01-31")
    assert measure_row(on_time).start_date == day("2026-01-31")  # the contract's date is the start date
    assert obligation_states(on_time)["contrat"] == ("open", day("2026-02-28"))
    assert sm.act("rouen", on_time, "record_contract_sent", sent_date="2026-02-28") == []
    assert obligation_states(on_time)["contrat"][0] == "done"

    sm.clock.to("2026-02-28")
    assert recompute(late)["contrat"] == ("open", day("2026-02-28"))
    sm.clock.to("2026-03-01")
    assert recompute(late)["contrat"] == ("overdue", day("2026-02-28"))
    warnings = sm.act("rouen", late, "record_contract_sent", sent_date="2026-03-01")
    assert [(w.code, w.blocking) for w in warnings] == [("contrat_tardif", False)]
    assert messages(warnings) == ["Contrat d'accompagnement transmis au service logement et solidarités plus d'un "
                                  "mois après sa signature (échéance : 28/02/2026)."]
    assert measure_row(late).contract_sent_date == day("2026-03-01")  # recorded, with the delay noted


def test_the_action_plan_is_drawn_up_within_three_months_of_the_start(sm):
    on_time = sm.started("2025-11-30", decided="2025-11-20")
    late = sm.started("2025-11-30", decided="2025-11-20")
    assert obligation_states(on_time)["plan_action"] == ("open", day("2026-02-28"))
    assert sm.act("rouen", on_time, "record_action_plan", plan_date="2026-02-28") == []
    warnings = sm.act("rouen", late, "record_action_plan", plan_date="2026-03-01")
    assert codes(warnings) == ["plan_tardif"] and not warnings[0].blocking
    assert messages(warnings) == ["Plan d'action établi plus de trois mois après le début de la mesure "
                                  "(échéance : 28/02/2026)."]
    assert measure_row(late).status is MeasureStatus.RUNNING


# =====================================================================================
# §2.2.1 Duration and prolongations
# =====================================================================================
def test_a_prolongation_is_requested_at_the_latest_one_month_before_the_end(sm):
    outside, boundary, inside = sm.running("2026-01-31"), sm.running("2026-01-31"), sm.running("2026-01-31")
    assert measure_row(outside).planned_end_date == day("2026-07-31")
    exc = transition_refused(sm, "rouen", outside, "request_prolongation", request_date="2026-07-01", months=6,
                             reason="Relogement en cours.")
    assert codes(exc.violations) == ["demande_prolongation_tardive"]
    assert messages(exc.violations) == [
        "Toute demande de prolongation est formulée au plus tard un mois avant la fin de la mesure : le 30/06/2026 "
        "pour une fin prévue le 31/07/2026."]
    assert sm.act("rouen", boundary, "request_prolongation", request_date="2026-06-30", months=6,
                  reason="Relogement en cours.") == []
    assert sm.act("rouen", inside, "request_prolongation", request_date="2026-06-29", months=6,
                  reason="Relogement en cours.") == []
    assert measure_row(boundary).status is MeasureStatus.PROLONGATION_REQUESTED


def test_the_first_prolongation_is_granted_on_the_sls_opinion(sm):
    measure_id = sm.running("2026-01-31")
    sm.act("rouen", measure_id, "request_prolongation", request_date="2026-06-01", months=6, reason="En cours.")
    exc = transition_refused(sm, "agent", measure_id, "grant_prolongation", decision_date="2026-06-08")
    assert codes(exc.violations) == ["avis_sls_requis"]
    assert messages(exc.violations) == ["La première prolongation est accordée sur avis du service logement et "
                                        "solidarités : cet avis manque."]
    exc = transition_refused(sm, "agent", measure_id, "refuse_prolongation", decision_date="2026-06-08",
                             reason="Non.", extra={"avis_sls": "favorable"})
    assert messages(exc.violations) == ["Le service logement et solidarités a rendu un avis favorable : la "
                                        "première prolongation est accordée sur cet avis."]
    sm.act("agent", measure_id, "grant_prolongation", decision_date="2026-06-08", extra={"avis_sls": "favorable"})
    measure = measure_row(measure_id)
    assert (measure.status, measure.prolongation_count, measure.planned_end_date) == (
        MeasureStatus.RUNNING, 1, day("2027-01-31"))


def test_a_negative_sls_opinion_on_the_first_prolongation_goes_to_the_commission_locale(sm):
    measure_id = sm.running("2026-01-31")
    sm.act("rouen", measure_id, "request_prolongation", request_date="2026-06-01", months=6, reason="En cours.")
    negative = {"avis_sls": "defavorable"}
    exc = transition_refused(sm, "agent", measure_id, "grant_prolongation", decision_date="2026-06-08", extra=negative)
    assert codes(exc.violations) == ["avis_commission_requis"]
    assert messages(exc.violations) == ["L'avis du service logement et solidarités étant défavorable, l'avis de la "
                                        "commission locale ASLL doit être demandé."]
    exc = transition_refused(sm, "agent", measure_id, "refuse_prolongation", decision_date="2026-06-08",
                             reason="Objectifs atteints.", extra=negative)
    assert codes(exc.violations) == ["avis_commission_requis"]
    both_negative = {**negative, "avis_commission": "defavorable"}
    exc = transition_refused(sm, "secretary", measure_id, "grant_prolongation", decision_date="2026-06-15",
                             extra=both_negative)
    assert messages(exc.violations) == ["La commission locale ASLL a rendu un avis défavorable : la prolongation "
                                        "ne peut être accordée."]
    exc = transition_refused(sm, "secretary", measure_id, "refuse_prolongation", decision_date="2026-06-15",
                             reason="Objectifs atteints.", extra={**negative, "avis_commission": "favorable"})
    assert messages(exc.violations) == ["La commission locale ASLL a rendu un avis favorable : la prolongation ne "
                                        "peut être refusée."]
    sm.act("secretary", measure_id, "refuse_prolongation", decision_date="2026-06-15", reason="Objectifs atteints.",
           extra=both_negative)
    assert (measure_row(measure_id).prolongation_count, measure_row(measure_id).status) == (0, MeasureStatus.RUNNING)
    # A new request, the commission overriding the SLS's negative opinion.
    sm.act("rouen", measure_id, "request_prolongation", request_date="2026-06-20", months=6, reason="Nouveau bail.")
    sm.act("secretary", measure_id, "grant_prolongation", decision_date="2026-06-25",
           extra={**negative, "avis_commission": "favorable", "date_avis_commission": "2026-06-25"})
    assert measure_row(measure_id).prolongation_count == 1


def test_the_second_prolongation_needs_a_synthesis_with_the_household_and_the_commissions_opinion(sm):
    measure_id = sm.running("2026-01-31")
    sm.first_prolongation(measure_id, "2026-06-01", "2026-06-08")
    request = {"request_date": "2026-12-01", "months": 6, "reason": "Objectifs non atteints en douze mois."}
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **request)
    assert codes(exc.violations) == ["synthese_requise", "synthese_sans_menage"]
    assert messages(exc.violations) == [
        "Avant une deuxième demande de prolongation, l'organisme convie le service logement et solidarités à une "
        "synthèse en présence du ménage : indiquez sa date.", "La synthèse se tient en présence du ménage."]
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **request,
                             synthesis_meeting_date="2026-12-02", extra={"menage_present_synthese": True})
    assert messages(exc.violations) == ["La synthèse doit précéder la demande de prolongation."]
    sm.act("rouen", measure_id, "request_prolongation", **request, synthesis_meeting_date="2026-11-20",
           extra={"menage_present_synthese": True})
    exc = transition_refused(sm, "agent", measure_id, "grant_prolongation", decision_date="2026-12-10",
                             extra={"avis_sls": "favorable"})
    assert messages(exc.violations) == ["La deuxième prolongation, exceptionnelle, nécessite l'avis de la commission "
                                        "locale ASLL."]
    sm.act("secretary", measure_id, "grant_prolongation", decision_date="2026-12-10",
           extra={"avis_commission": "favorable", "date_avis_commission": "2026-12-10"})
    assert measure_row(measure_id).planned_end_date == day("2027-07-31")  # 18 months from the start
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", request_date="2027-05-01", months=6,
                             reason="Encore.")
    assert messages(exc.violations) == ["Ce type de mesure ne peut être prolongé que 2 fois.",
                                        "La durée totale ne peut dépasser 18 mois (elle serait de 24 mois)."]


def test_eighteen_months_in_all_never_more_even_for_a_hand_over(sm):
    measure_id = sm.running("2026-01-31")
    sm.first_prolongation(measure_id, "2026-06-01", "2026-06-08")
    sm.second_prolongation(measure_id, "2026-11-20", "2026-12-01", "2026-12-10")
    requests.add_support_measure(sm.actor("prescriber"), measure_row(measure_id).household_id,
                                 {"code": "MASP", "start_date": "2027-07-15"})
    end = {"reason": "hand_over", "hand_over_to": "MASP"}
    exc = transition_refused(sm, "rouen", measure_id, "end", end_date="2027-08-01", **end)
    assert codes(exc.violations) == ["duree_totale_18_mois"]
    assert messages(exc.violations) == ["La mesure d'ASLL ne peut excéder dix-huit mois au total : elle prend fin au "
                                        "plus tard le 31/07/2027."]
    # Not even with a derogation: "en tout état de cause".
    exc = transition_refused(sm, "rouen", measure_id, "end", end_date="2027-08-01", **end,
                             extra={"derogation": derogation(date_avis_sls="2027-07-20", date_commission="2027-07-27")})
    assert codes(exc.violations) == ["duree_totale_18_mois"]
    assert sm.act("rouen", measure_id, "end", end_date="2027-07-31", **end) == []
    assert measure_row(measure_id).end_date == day("2027-07-31")


def test_a_hand_over_lets_the_measure_go_on_one_month_at_most_after_the_next_measure_starts(sm):
    overlap, beyond_term, no_hand_over = sm.running("2026-01-31"), sm.running("2026-01-31"), sm.running("2026-01-31")
    household = measure_row(overlap).household_id
    requests.add_support_measure(sm.actor("prescriber"), household, {"code": "MASP", "start_date": "2026-06-30"})
    assert recompute(overlap)["fin_relais"] == ("open", day("2026-07-30"))
    end = {"reason": "hand_over", "hand_over_to": "MASP du Département"}
    exc = transition_refused(sm, "rouen", overlap, "end", end_date="2026-07-31", **end)
    assert codes(exc.violations) == ["relais_plus_d_un_mois"]
    assert messages(exc.violations) == ["La mesure d'ASLL peut se poursuivre un mois au plus après le début de la "
                                        "nouvelle mesure (30/06/2026) : fin au plus tard le 30/07/2026."]
    assert sm.act("rouen", overlap, "end", end_date="2026-07-30", **end) == []

    # The overlap may run past the planned end (31/07/2026), within a month of the next start.
    requests.add_support_measure(sm.actor("prescriber"), measure_row(beyond_term).household_id,
                                 {"code": "AVDL", "start_date": "2026-07-20"})
    assert sm.act("rouen", beyond_term, "end", end_date="2026-08-20", **end) == []

    # Without a hand-over, the measure ends at its term.
    exc = transition_refused(sm, "rouen", no_hand_over, "end", end_date="2026-08-01", reason="term")
    assert messages(exc.violations) == ["La mesure prend fin au terme prévu (31/07/2026) : au-delà, une prolongation "
                                        "est nécessaire (ou un relais vers une nouvelle mesure)."]
    exc = transition_refused(sm, "rouen", no_hand_over, "end", end_date="2026-07-31", reason="hand_over")
    assert messages(exc.violations) == ["Indiquez la mesure d'accompagnement vers laquelle le ménage est orienté."]
    assert sm.act("rouen", no_hand_over, "end", end_date="2026-07-31", reason="term") == []


# =====================================================================================
# §2.2.3 End and bilan
# =====================================================================================
def test_the_individual_bilan_is_sent_within_a_month_of_the_end(sm):
    on_time, late, missing = (sm.running("2025-12-31", decided="2025-12-15") for _ in range(3))
    for measure_id in (on_time, late, missing):
        sm.act("rouen", measure_id, "end", end_date="2026-01-31", reason="no_adhesion")
    assert obligation_states(on_time)["bilan"] == ("open", day("2026-02-28"))
    summary = {"summary": "Le ménage n'adhère plus à la mesure."}
    assert sm.act("rouen", on_time, "record_bilan", bilan_date="2026-02-28", **summary) == []
    warnings = sm.act("rouen", late, "record_bilan", bilan_date="2026-03-01", **summary)
    assert [(w.code, w.blocking) for w in warnings] == [("bilan_tardif", False)]
    assert messages(warnings) == ["Bilan individuel transmis plus d'un mois après l'arrêt de la mesure "
                                  "(échéance : 28/02/2026)."]
    # Even after an end for lack of adhesion, the référentiel wants the bilan before closing.
    exc = transition_refused(sm, "agent", missing, "close", close_date="2026-03-10")
    assert messages(exc.violations) == ["L'organisme transmet un bilan individuel au service logement et "
                                        "solidarités en fin de mesure : enregistrez-le avant de clôturer."]
    sm.act("agent", on_time, "close", close_date="2026-03-10")
    assert measure_row(on_time).status is MeasureStatus.CLOSED
    # A measure that never started (household never met) closes without a bilan.
    never = sm.granted("2026-01-20")
    sm.act("rouen", never, "end", end_date="2026-02-10", reason="not_met")
    assert "bilan" not in obligation_states(never)
    sm.act("agent", never, "close", close_date="2026-02-11")


# =====================================================================================
# §2.4 Special cases
# =====================================================================================
def test_a_move_out_of_the_operators_sector_means_a_transfer_organised_by_the_sls(sm):
    measure_id = sm.running("2026-01-31")
    household = measure_row(measure_id).household_id
    move = {"transfer_date": "2026-03-02", "reason": "move"}
    exc = transition_refused(sm, "agent", measure_id, "transfer", operator_id=sm.org("havre"), **move)
    assert codes(exc.violations) == ["demenagement_meme_secteur", "operateur_hors_secteur"]
    assert messages(exc.violations)[0] == ("L'organisme actuel intervient sur le secteur « Rouen » : un déménagement "
                                           "n'y justifie pas de relais.")
    requests.update_household(sm.actor("prescriber"), household, {"sector": "Le Havre", "city": "Le Havre"})
    exc = transition_refused(sm, "agent", measure_id, "transfer", operator_id=sm.org("dieppe"), **move)
    assert messages(exc.violations) == ["L'organisme désigné n'intervient pas sur le secteur « Le Havre » où le "
                                        "ménage a déménagé."]
    exc = refused(PermissionDenied, measures.transition, sm.actor("rouen"), measure_id, "transfer",
                  {"operator_id": sm.org("havre"), **move})
    assert exc.message == "Votre rôle ne permet pas l'action « Transférer la mesure »."
    assert sm.act("agent", measure_id, "transfer", operator_id=sm.org("havre"), **move) == []
    assert measure_row(measure_id).operator_id == sm.org("havre")
    # The new operator now follows the measure.
    sm.act("havre", measure_id, "end", end_date="2026-07-31", reason="term")
    # A household with no known sector cannot be transferred for a move.
    other = sm.running("2026-01-31")
    requests.update_household(sm.actor("prescriber"), measure_row(other).household_id, {"sector": ""})
    exc = transition_refused(sm, "agent", other, "transfer", operator_id=sm.org("havre"), **move)
    assert messages(exc.violations) == ["Indiquez le nouveau secteur du ménage sur sa fiche avant d'organiser le "
                                        "relais vers un autre organisme."]


def test_a_separation_transfers_the_measure_to_a_member_on_the_sls_opinion(sm):
    measure_id = sm.running("2026-01-31")
    separation = {"operator_id": sm.org("havre"), "transfer_date": "2026-03-02", "reason": "separation"}
    exc = transition_refused(sm, "agent", measure_id, "transfer", **separation)
    assert codes(exc.violations) == ["separation_membre", "separation_avis_sls"]
    assert messages(exc.violations) == [
        "Indiquez le membre du couple qui conserve la mesure.",
        "En cas de séparation, la mesure est transférée à l'un des membres du couple sur avis du service logement "
        "et solidarités : cet avis manque."]
    exc = transition_refused(sm, "agent", measure_id, "transfer", **separation, member="Ana Durand",
                             extra={"avis_sls": "defavorable"})
    assert messages(exc.violations) == ["Le service logement et solidarités a rendu un avis défavorable au transfert "
                                        "de la mesure."]
    sm.act("agent", measure_id, "transfer", **separation, member="Ana Durand", extra={"avis_sls": "favorable"})
    assert measure_row(measure_id).operator_id == sm.org("havre")


def test_a_new_measure_after_a_separation_needs_the_sls_opinion(sm):
    origin = {"mesure_origine_separation": "Couple Durand 2026"}
    exc = grant_refused(sm, sm.request(**origin), "2026-03-10")
    assert messages(exc.violations) == ["Après une séparation, une nouvelle mesure est accordée sur avis du service "
                                        "logement et solidarités : cet avis manque."]
    exc = grant_refused(sm, sm.request(**origin, avis_sls_separation="defavorable"), "2026-03-11")
    assert messages(exc.violations) == ["Le service logement et solidarités a rendu un avis défavorable à une "
                                        "nouvelle mesure après la séparation."]
    granted = sm.decide(sm.request(**origin, avis_sls_separation="favorable"), "2026-03-12")
    assert measure_row(granted.measure_id).status is MeasureStatus.OPERATOR_ASSIGNED


def test_the_measure_is_suspended_on_the_sls_opinion_for_two_months_at_most(sm):
    measure_id, longer = sm.running("2026-01-10", decided="2026-01-06"), sm.running("2026-01-10", decided="2026-01-06")
    suspension = {"from_date": "2026-01-31", "reason": "Hospitalisation."}
    exc = refused(ValidationFailed, measures.transition, sm.actor("agent"), measure_id, "suspend", suspension)
    assert exc.fields == {"extra": {"motif_indisponibilite": REQUIRED}}
    exc = transition_refused(sm, "agent", measure_id, "suspend", **suspension,
                             extra={"motif_indisponibilite": "hospitalisation"})
    assert messages(exc.violations) == ["La mesure est suspendue sur avis du service logement et solidarités : cet "
                                        "avis manque."]
    exc = transition_refused(sm, "agent", measure_id, "suspend", **suspension,
                             extra={"motif_indisponibilite": "hospitalisation", "avis_sls": "defavorable"})
    assert messages(exc.violations) == ["Le service logement et solidarités a rendu un avis défavorable à la "
                                        "suspension."]
    favourable = {"motif_indisponibilite": "hospitalisation", "avis_sls": "favorable"}
    for suspended in (measure_id, longer):
        sm.act("agent", suspended, "suspend", **suspension, extra=favourable)
    assert obligation_states(measure_id)["reprise"] == ("open", day("2026-03-31"))

    exc = transition_refused(sm, "rouen", measure_id, "resume", resume_date="2026-04-01")
    assert codes(exc.violations) == ["suspension_trop_longue"]
    assert messages(exc.violations) == ["La suspension est limitée à deux mois : reprise au plus tard le 31/03/2026 "
                                        "pour une mesure suspendue le 31/01/2026."]
    assert sm.act("rouen", measure_id, "resume", resume_date="2026-03-31") == []
    # The 59 suspended days push the planned end (10/07/2026).
    assert measure_row(measure_id).planned_end_date == day("2026-09-07")
    assert obligation_states(measure_id)["reprise"][0] == "waived"

    # One day more, allowed by the commission locale after the SLS's opinion: a derogation.
    warnings = sm.act("rouen", longer, "resume", resume_date="2026-04-01",
                      extra={"derogation": derogation(date_avis_sls="2026-03-20", date_commission="2026-03-27")})
    assert [(w.code, w.blocking) for w in warnings] == [("suspension_trop_longue", False)]
    assert warnings[0].message.endswith("Dérogation accordée par la commission locale ASLL le 27/03/2026.")


def test_a_derogation_is_examined_by_the_commission_locale_after_the_sls_opinion(sm):
    measure_id = sm.granted("2026-01-20")
    late_start = {"start_date": "2026-03-02"}
    exc = refused(ValidationFailed, measures.transition, sm.actor("rouen"), measure_id, "start", {
        **late_start, "extra": {"derogation": derogation(date_avis_sls="2026-02-25")}})
    assert exc.fields == {"extra": {"derogation": {"date_commission": [
        "La commission locale ASLL examine la dérogation après l'avis du service logement et solidarités."]}}}
    exc = transition_refused(sm, "rouen", measure_id, "start", **late_start,
                             extra={"derogation": {k: v for k, v in derogation().items()
                                                   if k not in ("avis_sls", "date_avis_sls")}})
    assert codes(exc.violations) == ["demarrage_tardif", "derogation_sans_avis_sls"]
    assert messages(exc.violations)[1] == ("Une dérogation est étudiée en commission locale ASLL après avis du "
                                           "service logement et solidarités : cet avis manque.")
    exc = transition_refused(sm, "rouen", measure_id, "start", **late_start,
                             extra={"derogation": derogation("defavorable")})
    assert messages(exc.violations) == [
        "L'organisme doit débuter l'accompagnement dans le mois qui suit la décision de la commission locale ASLL du "
        "20/01/2026 : au plus tard le 20/02/2026. La commission locale ASLL a refusé la dérogation le 24/02/2026."]
    warnings = sm.act("rouen", measure_id, "start", **late_start, extra={"derogation": derogation()})
    assert [(w.code, w.blocking) for w in warnings] == [("demarrage_tardif", False)]
    assert warnings[0].message.endswith("Dérogation accordée par la commission locale ASLL le 24/02/2026.")
    assert measure_row(measure_id).extra["derogation"]["avis_commission"] == "favorable"

    # Derogations also cover the exclusion of a household leaving a CHRS, and other transfers.
    granted = sm.decide(sm.request(sortie_structure="CHRS"), "2026-02-24", extra={"derogation": derogation()})
    assert granted.outcome is DecisionOutcome.GRANTED
    other = sm.running("2026-01-31")
    transfer = {"operator_id": sm.org("havre"), "transfer_date": "2026-03-02", "reason": "other"}
    exc = transition_refused(sm, "agent", other, "transfer", **transfer)
    assert messages(exc.violations) == ["Le référentiel organise un relais vers un autre organisme en cas de "
                                        "déménagement hors de son secteur ou de séparation du couple."]
    warnings = sm.act("agent", other, "transfer", **transfer, extra={"derogation": derogation()})
    assert codes(warnings) == ["transfert_hors_referentiel"]


# =====================================================================================
# §3 Diagnostic ASLL ordered on the CCAPEX's initiative
# =====================================================================================
def test_the_diagnostic_is_ordered_by_the_departement_after_the_ccapex(sm):
    agent, household = sm.actor("agent"), sm.household()
    draft = requests.save_draft(agent, {"household_id": household, "measure_type": DIAGNOSTIC_CCAPEX,
                                        "consent_given_by": "Orientation CCAPEX", "consent_date": "2026-01-06",
                                        "extra": {"motif_ccapex": "sans_reponse"}})
    exc = refused(ValidationFailed, requests.submit, agent, draft.id)
    assert exc.fields == {"extra": {"date_cpex": REQUIRED}}  # no social diagnostic needed: it is the diagnostic
    request_id = sm.request(DIAGNOSTIC_CCAPEX)
    assert decisions.pending_requests(agent, SLS)[0].id == request_id

    decide = {"outcome": "granted", "decision_date": "2026-01-12", "operator_id": sm.org("rouen"),
              "extra": {"date_courrier_association": "2026-01-15"}}
    exc = refused(ValidationFailed, decisions.decide_alone, agent, request_id, {**decide, "duration_months": 3})
    assert exc.fields == {"duration_months": ["« Diagnostic ASLL (aller-vers, à l'initiative de la CCAPEX) » dure "
                                              "au plus 2 mois."]}
    exc = refused(RuleViolation, decisions.decide_alone, agent, request_id, {**decide, "duration_months": 1})
    assert messages(exc.violations) == ["Le diagnostic ASLL a une durée de deux mois."]
    exc = refused(RuleViolation, decisions.decide_alone, agent, request_id, {**decide, "operator_id": None})
    assert messages(exc.violations) == ["Le diagnostic est demandé par courrier à une association : désignez-la dans "
                                        "la décision."]
    exc = refused(RuleViolation, decisions.decide_alone, agent, request_id,
                  {**decide, "extra": {"date_courrier_association": "2026-01-11"}})
    assert messages(exc.violations) == ["Le courrier à l'association ne peut précéder la décision du Département."]
    exc = refused(ValidationFailed, decisions.decide_alone, agent, request_id, {**decide, "extra": {}})
    assert exc.fields == {"extra": {"date_courrier_association": REQUIRED}}
    measure_id = decisions.decide_alone(agent, request_id, decide).measure_id
    assert measure_row(measure_id).granted_months == 2


def test_the_diagnostic_lasts_two_months_from_the_letter_to_the_association(sm):
    measure_id = sm.diagnostic(decided="2026-01-12", letter="2026-01-15", start=False)
    exc = transition_refused(sm, "rouen", measure_id, "start", start_date="2026-01-20")
    assert messages(exc.violations) == ["La date de début du diagnostic ASLL est celle du courrier adressé à "
                                        "l'association (15/01/2026)."]
    sm.act("rouen", measure_id, "start", start_date="2026-01-15")
    assert measure_row(measure_id).planned_end_date == day("2026-03-15")
    assert "demarrage" not in obligation_states(measure_id) and "contrat" not in obligation_states(measure_id)
    month_end = sm.diagnostic(decided="2025-12-22", letter="2025-12-31")
    assert measure_row(month_end).planned_end_date == day("2026-02-28")


def test_the_diagnostic_bilan_comes_within_a_month_and_the_day_before_the_cpex_reexamination(sm):
    # Without a re-examination date: one month after the diagnostic (28/02 → 28/03).
    on_time = sm.diagnostic(decided="2025-12-22", letter="2025-12-31")
    late = sm.diagnostic(decided="2025-12-22", letter="2025-12-31")
    for measure_id in (on_time, late):
        sm.act("rouen", measure_id, "end", end_date="2026-02-28", reason="term", extra={"menage_rencontre": True})
    assert obligation_states(on_time)["bilan_diagnostic"] == ("open", day("2026-03-28"))
    assert sm.act("rouen", on_time, "record_bilan", bilan_date="2026-03-28", summary="Vu.") == []
    warnings = sm.act("rouen", late, "record_bilan", bilan_date="2026-03-29", summary="Vu.")
    assert codes(warnings) == ["bilan_diagnostic_tardif"] and not warnings[0].blocking

    # With a re-examination in CPEX on 20/03: the day before, earlier than the month (15/04).
    before, after = (sm.diagnostic(letter="2026-01-15", date_reexamen_cpex="2026-03-20") for _ in range(2))
    assert obligation_states(before)["bilan_diagnostic"] == ("open", day("2026-03-19"))
    for measure_id in (before, after):
        sm.act("rouen", measure_id, "end", end_date="2026-03-15", reason="not_met", extra={"menage_rencontre": False})
    assert sm.act("rouen", before, "record_bilan", bilan_date="2026-03-19", summary="Non rencontré.") == []
    warnings = sm.act("rouen", after, "record_bilan", bilan_date="2026-03-20", summary="Non rencontré.")
    assert messages(warnings) == ["Bilan du diagnostic transmis après l'échéance du 19/03/2026 (un mois après le "
                                  "diagnostic, au plus tard la veille du réexamen en CPEX)."]
    sm.clock.to("2026-03-19")
    assert recompute(sm.diagnostic(letter="2026-01-15", date_reexamen_cpex="2026-03-20"))["bilan_diagnostic"] == (
        "open", day("2026-03-19"))
    sm.clock.to("2026-03-20")
    assert recompute(sm.diagnostic(letter="2026-01-15", date_reexamen_cpex="2026-03-20"))["bilan_diagnostic"] == (
        "overdue", day("2026-03-19"))


def test_the_sls_validates_four_more_months_at_once_when_the_household_wants_it(sm):
    measure_id = sm.diagnostic(letter="2026-01-15")
    ask = {"request_date": "2026-03-10", "months": 4, "reason": "Le ménage souhaite poursuivre."}
    wish = {"souhait_menage": True, "date_bilan_diagnostic": "2026-03-09"}
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **{**ask, "months": 3}, extra=wish)
    assert messages(exc.violations) == ["À l'issue du diagnostic, l'ASLL se poursuit pour quatre mois "
                                        "supplémentaires."]
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **ask,
                             extra={**wish, "souhait_menage": False})
    assert messages(exc.violations) == ["L'ASLL ne se poursuit après le diagnostic que si le ménage le souhaite ; "
                                        "sinon, l'organisme l'oriente vers la mesure d'accompagnement la plus "
                                        "adaptée."]
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **{**ask, "request_date": "2026-03-16"},
                             extra={**wish, "date_bilan_diagnostic": "2026-03-16"})
    assert messages(exc.violations) == ["La poursuite se demande à l'issue du diagnostic, au plus tard le "
                                        "15/03/2026."]
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", **ask,
                             extra={**wish, "date_bilan_diagnostic": "2026-03-11"})
    assert messages(exc.violations) == ["Le bilan du diagnostic accompagne la demande de poursuite : il ne peut lui "
                                        "être postérieur."]
    sm.act("rouen", measure_id, "request_prolongation", **ask, extra=wish)
    assert obligation_states(measure_id)["bilan_diagnostic"][0] == "done"
    exc = transition_refused(sm, "agent", measure_id, "grant_prolongation", decision_date="2026-03-10",
                             extra={"date_information_commission": "2026-03-09"})
    assert messages(exc.violations) == ["La commission locale ASLL est informée de la poursuite une fois celle-ci "
                                        "validée."]
    assert sm.act("agent", measure_id, "grant_prolongation", decision_date="2026-03-10",
                  extra={"date_information_commission": "2026-03-10"}) == []
    measure = measure_row(measure_id)
    assert (measure.planned_end_date, measure.prolongation_count) == (day("2026-07-15"), 1)
    assert measure.extra["date_information_commission"] == "2026-03-10"
    exc = transition_refused(sm, "rouen", measure_id, "request_prolongation", request_date="2026-06-01", months=4,
                             reason="Encore.", extra=wish)
    assert "Ce type de mesure ne peut être prolongé que 1 fois." in messages(exc.violations)

    # A validation that waits is still recorded, with a warning: "sans délai".
    slow = sm.diagnostic(letter="2026-01-15")
    sm.act("rouen", slow, "request_prolongation", **ask, extra=wish)
    warnings = sm.act("agent", slow, "grant_prolongation", decision_date="2026-03-12",
                      extra={"date_information_commission": "2026-03-12"})
    assert messages(warnings) == ["Le service logement et solidarités valide sans délai la poursuite demandée le "
                                  "10/03/2026."]


def test_a_household_met_is_oriented_to_the_most_suitable_support(sm):
    measure_id = sm.diagnostic(letter="2026-01-15")
    exc = refused(ValidationFailed, measures.transition, sm.actor("rouen"), measure_id, "end",
                  {"end_date": "2026-03-15", "reason": "hand_over", "hand_over_to": "MASP"})
    assert exc.fields == {"extra": {"menage_rencontre": REQUIRED}}
    exc = transition_refused(sm, "rouen", measure_id, "end", end_date="2026-03-15", reason="hand_over",
                             hand_over_to="MASP", extra={"menage_rencontre": False})
    assert messages(exc.violations) == ["Le ménage n'a pas été rencontré : l'organisme ne peut l'orienter vers une "
                                        "autre mesure."]
    sm.act("rouen", measure_id, "end", end_date="2026-03-15", reason="hand_over",
           hand_over_to="MASP (travailleur social de secteur)", extra={"menage_rencontre": True})
    measure = measure_row(measure_id)
    assert (measure.status, measure.hand_over_to) == (MeasureStatus.ENDED, "MASP (travailleur social de secteur)")
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 1
