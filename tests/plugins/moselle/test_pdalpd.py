"""Every rule of the Moselle plugin (7th PDALPD 2014-2018, seed 004), through the services, fixed clock.

Priority publics P1-P4, the ASLL on a prior social diagnostic and without MASP/MAESF/MAJ/MJAGBF, the
commission des situations atypiques and the commission unique de sous-location, FSL aids with their
amounts, the aide à la recherche's eligibility (2/3 of the net SMIC, a setting) and the rent-arrears
prevention opened on a first unpaid rent. Every refusal asserts that no row of the database changed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import Household, MeasureStatus, Request, RequestStatus
from asll.services import decisions, measures, requests
from asll.services import plugins as plugin_service
from asll.services.errors import ServiceError, ValidationFailed
from asll.services.measures import RuleViolation
from asll_moselle.codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    MAINTIEN,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
    SOUS_LOCATION,
)
from asll_moselle.models import FslAid, RentArrearsFollowUp
from tests.core.workflow_support import refused
from tests.plugins.departement import DIAGNOSTIC, codes, day, measure_row, messages

REQUIRED = ["Ce champ est obligatoire."]


def reference(request_id: int) -> str:
    return db.session.scalar(sa.select(Request.reference).where(Request.id == request_id))


def aids() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        sa.select(FslAid.kind, FslAid.nature, FslAid.amount, FslAid.granted_on).order_by(FslAid.id)).all()]


# =====================================================================================
# Priority publics P1-P4 (contingent préfectoral)
# =====================================================================================
@pytest.mark.parametrize(("priority", "errors"), [
    ({"code": "P5"}, {"code": ["Public prioritaire inconnu : P1, P2, P3 ou P4."]}),
    ({"code": "P1"}, {"date_decision_dalo": [
        "Priorité 1 : indiquez la date de la décision de la commission de médiation DALO."]}),
    ({"code": "P2", "critere": "chrs"}, {"orientation": [
        "Priorité 2 : le ménage est orienté par la structure d'hébergement ou par le SIAO 57."]}),
    ({"code": "P3", "critere": "menace_expulsion", "date_decision_dalo": "2026-01-02"}, {"date_decision_dalo": [
        "Un ménage reconnu prioritaire par la commission de médiation DALO relève de la priorité 1."]}),
    ({"code": "P3", "critere": "violences"}, {"critere": [
        "Critère inconnu pour la priorité 3 : Logement reconnu insalubre ou indigne, Hébergé chez des tiers non "
        "soumis à l'obligation alimentaire, Menacé d'expulsion, Autre critère DALO."]}),
    ({"code": "P4", "critere": "violences", "quota": 1}, {"quota": ["Champ inconnu."]}),
    ({"code": "P1", "date_decision_dalo": "2026-01-02", "critere": "x" * 61}, {"critere": ["Critère inconnu."]}),
    ({"code": "P2", "critere": "chrs", "orientation": "mairie"}, {"orientation": [
        "Orientation inconnue : par la structure d'hébergement ou par le SIAO 57."]}),
])
def test_a_priority_public_is_refused_when_incoherent(moselle, priority, errors):
    exc = refused(ValidationFailed, requests.create_household, moselle.actor("prescriber"), {
        "members": [{"last_name": "Klein", "first_name": "Marc"}], "extra": {"public_prioritaire": priority}})
    assert exc.fields == {"extra": {"public_prioritaire": errors}}


def test_priority_publics_p1_to_p4_are_recorded_on_the_household(moselle):
    recorded = {
        "P1": {"code": "P1", "date_decision_dalo": "2025-12-10"},
        "P2": {"code": "P2", "critere": "chrs", "orientation": "siao_57"},
        "P3": {"code": "P3", "critere": "heberge_tiers"},
        "P4": {"code": "P4", "critere": "violences"},
    }
    ids = {code: moselle.household(name=code, priority=priority) for code, priority in recorded.items()}
    for code, household_id in ids.items():
        household = db.session.scalar(sa.select(Household).where(Household.id == household_id))
        assert household.extra["public_prioritaire"]["code"] == code
    assert db.session.scalar(sa.select(Household.extra).where(Household.id == ids["P1"]))["public_prioritaire"][
        "date_decision_dalo"] == "2025-12-10"
    # A household becomes P4 once the commission des situations atypiques decided its rehousing.
    requests.update_household(moselle.actor("prescriber"), ids["P3"], {"extra": {"public_prioritaire": {
        "code": "P4", "critere": "situations_atypiques"}}})
    household = db.session.scalar(sa.select(Household).where(Household.id == ids["P3"]))
    assert household.extra["public_prioritaire"] == {"code": "P4", "critere": "situations_atypiques"}
    exc = refused(ValidationFailed, requests.update_household, moselle.actor("prescriber"), ids["P2"],
                  {"extra": {"public_prioritaire": {"critere": "hotel"}}})
    assert exc.fields == {"extra": {"public_prioritaire": {"code": ["Public prioritaire inconnu : P1, P2, P3 ou P4."]}}}
    without = moselle.household(name="Sans")  # a household outside the priority publics
    assert db.session.scalar(sa.select(Household.extra).where(Household.id == without)) == {}


# =====================================================================================
# ASLL (action 14): prior social diagnostic, non-cumulation
# =====================================================================================
def test_the_asll_is_always_based_on_a_prior_social_diagnostic(moselle):
    prescriber = moselle.actor("prescriber")
    without = moselle.draft(ACCES, diagnostic=False)
    exc = refused(ValidationFailed, requests.submit, prescriber, without)
    assert exc.fields == {"diagnostic": REQUIRED}
    undated = requests.save_draft(prescriber, {"household_id": moselle.household(), "measure_type": MAINTIEN,
                                               "diagnostic": DIAGNOSTIC,
                                               "consent_given_by": "X", "consent_date": "2026-01-02"})
    exc = refused(ValidationFailed, requests.submit, prescriber, undated.id)
    assert exc.fields == {"extra": {"date_diagnostic": REQUIRED}}

    request_id = moselle.request(ACCES, date_diagnostic="2026-01-20")
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), request_id,
                  {"outcome": "granted", "decision_date": "2026-01-19"})
    assert codes(exc.violations) == ["diagnostic_posterieur"]
    assert messages(exc.violations) == ["Le diagnostic social du 20/01/2026 doit précéder la décision du "
                                        "19/01/2026."]
    decision = decisions.decide_alone(moselle.actor("agent"), request_id,
                                      {"outcome": "granted", "decision_date": "2026-01-20"})
    assert measure_row(decision.measure_id).status is MeasureStatus.GRANTED

    # An aide à la recherche request (no social diagnostic date) cannot become an ASLL accès.
    research = moselle.request(AIDE_RECHERCHE)
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), research,
                  {"outcome": "granted", "decision_date": "2026-01-21", "measure_type": ACCES})
    assert messages(exc.violations) == ["L'ASLL (accès ou maintien) est accordée sur la base d'un diagnostic social "
                                        "préalable : la demande n'en comporte pas."]


@pytest.mark.parametrize(("code", "label"), [
    ("MASP", "Mesure d'accompagnement social personnalisé (MASP)"),
    ("MAESF", "Mesure d'accompagnement en économie sociale et familiale (MAESF)"),
    ("MAJ", "Mesure d'accompagnement judiciaire (MAJ)"),
    ("MJAGBF", "Mesure judiciaire d'aide à la gestion du budget familial (MJAGBF)"),
])
def test_the_asll_does_not_cumulate_with_masp_maesf_maj_or_mjagbf(moselle, code, label):
    household = moselle.household()
    requests.add_support_measure(moselle.actor("prescriber"), household, {"code": code, "start_date": "2025-11-03"})
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), moselle.request(MAINTIEN, household),
                  {"outcome": "granted", "decision_date": "2026-01-20", "operator_id": moselle.org("metz")})
    assert codes(exc.violations) == ["cumul_interdit"]
    assert messages(exc.violations) == [f"Cumul interdit : le ménage bénéficie de « {label} » (depuis le "
                                        "03/11/2025), incompatible avec « ASLL maintien dans le logement »."]


def test_a_support_measure_begun_after_the_decision_blocks_the_start(moselle):
    measure_id = moselle.granted(MAINTIEN, "2026-01-20")
    household = measure_row(measure_id).household_id
    requests.add_support_measure(moselle.actor("prescriber"), household, {"code": "MJAGBF",
                                                                          "start_date": "2026-01-26"})
    exc = refused(RuleViolation, measures.transition, moselle.actor("metz"), measure_id, "start",
                  {"start_date": "2026-02-02"})
    assert messages(exc.violations) == [
        "Cumul interdit : le ménage bénéficie d'une mesure judiciaire d'aide à la gestion du budget familial "
        "(MJAGBF) depuis le 26/01/2026 ; l'ASLL ne se cumule pas avec les MASP, MAESF, MAJ et MJAGBF."]
    # Other support measures (e.g. a family-benefit guardianship) are not in Moselle's list.
    other = moselle.granted(ACCES, "2026-01-21")
    requests.add_support_measure(moselle.actor("prescriber"), measure_row(other).household_id,
                                 {"code": "TPF", "start_date": "2026-01-26"})
    assert moselle.act("metz", other, "start", start_date="2026-02-02") == []


# =====================================================================================
# Commissions of the plan: sous-location (bail glissant), situations atypiques
# =====================================================================================
def test_sliding_leases_are_decided_by_the_commission_unique_de_sous_location(moselle):
    exc = refused(ValidationFailed, moselle.draft, BAIL_GLISSANT, moselle.household(), bailleur_hlm="")
    assert exc.fields == {"extra": {"bailleur_hlm": REQUIRED}}
    request_id = moselle.request(BAIL_GLISSANT)
    assert db.session.scalar(sa.select(Request.commission_code).where(Request.id == request_id)) == SOUS_LOCATION
    exc = refused(ServiceError, decisions.decide_alone, moselle.actor("agent"), request_id,
                  {"outcome": "granted", "decision_date": "2026-01-20"})
    assert exc.message == "Cette demande relève de la commission « Commission unique de sous-location »."
    decision = moselle.decide(request_id, "2026-01-22", BAIL_GLISSANT)
    assert measure_row(decision.measure_id).measure_type == BAIL_GLISSANT
    # The département cannot turn another request into a sliding lease.
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), moselle.request(AIDE_RECHERCHE),
                  {"outcome": "granted", "decision_date": "2026-01-23", "measure_type": BAIL_GLISSANT})
    assert messages(exc.violations) == ["La sous-location avec bail glissant est accordée par la commission unique "
                                        "de sous-location."]


def test_the_commission_des_situations_atypiques_draws_up_an_action_plan(moselle):
    exc = refused(ValidationFailed, moselle.draft, SITUATION_ATYPIQUE, moselle.household(), problematiques=[])
    assert exc.fields == {"extra": {"problematiques": ["Précisez au moins une problématique de la situation."]}}
    request_id = moselle.request(SITUATION_ATYPIQUE, problematiques=["addictions", "troubles_psychiatriques"])
    session_id = moselle.session(SITUATIONS_ATYPIQUES, "2026-01-27", request_id)
    grant = {"outcome": "granted", "operator_id": moselle.org("thionville")}
    for plan, error in ((None, REQUIRED), ([], ["Le plan d'actions élaboré par la commission compte au moins une "
                                                "action."])):
        extra = {} if plan is None else {"plan_actions": plan}
        exc = refused(ValidationFailed, decisions.decide_in_session, moselle.actor("secretary"), session_id,
                      {request_id: {**grant, "extra": extra}})
        assert exc.fields == {reference(request_id): {"extra": {"plan_actions": error}}}
    exc = refused(ValidationFailed, decisions.decide_in_session, moselle.actor("secretary"), session_id,
                  {request_id: {**grant, "extra": {"plan_actions": [{"action": "Logement PLAI adapté"}]}}})
    assert exc.fields == {reference(request_id): {"extra": {"plan_actions": {0: {"pilote": REQUIRED}}}}}
    plan = [{"action": "Proposer un logement PLAI adapté", "pilote": "Bailleur social", "echeance": "2026-06-30"},
            {"action": "Orientation vers un CSAPA", "pilote": "Opérateur référent"}]
    [decision] = decisions.decide_in_session(moselle.actor("secretary"), session_id, {
        request_id: {**grant, "extra": {"plan_actions": plan, "relogement_decide": True}}})
    measure = measure_row(decision.measure_id)
    assert decision.decision_date == day("2026-01-27")
    assert [a["action"] for a in measure.extra["plan_actions"]] == [p["action"] for p in plan]
    assert measure.extra["relogement_decide"] is True
    # Only this commission draws up such a plan.
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), moselle.request(AIDE_RECHERCHE), {
        "outcome": "granted", "decision_date": "2026-01-28", "measure_type": SITUATION_ATYPIQUE,
        "extra": {"plan_actions": plan}})
    assert messages(exc.violations) == ["Le plan d'actions d'une situation atypique est élaboré par la commission des "
                                        "situations atypiques."]


# =====================================================================================
# FSL aids (action 11) and the aide à la recherche
# =====================================================================================
def test_fsl_aids_are_recorded_with_their_amounts_by_kind(moselle):
    agent = moselle.actor("agent")
    access = moselle.request(ACCES)
    exc = refused(ValidationFailed, decisions.decide_alone, agent, access, {
        "outcome": "granted", "decision_date": "2026-01-20", "extra": {"aides_fsl": [
            {"nature": "energie", "montant": "120.00"}, {"nature": "depot_garantie", "montant": "0"}]}})
    assert exc.fields == {"extra": {"aides_fsl": {
        0: {"nature": ["Aide inconnue au titre du FSL Accès : Paiement du 1er loyer, Dépôt de garantie, Première "
                         "assurance locative, Frais de déménagement, Frais d'agence."]},
        1: {"montant": ["Le montant doit être positif."]}}}}
    decisions.decide_alone(agent, access, {"outcome": "granted", "decision_date": "2026-01-20", "extra": {
        "aides_fsl": [{"nature": "premier_loyer", "montant": "380.00"}, {"nature": "depot_garantie",
                                                                          "montant": "450.50"},
                      {"nature": "assurance", "montant": "120"}, {"nature": "demenagement", "montant": "600"},
                      {"nature": "frais_agence", "montant": "150"}]}})
    stay = moselle.request(MAINTIEN)
    decisions.decide_alone(agent, stay, {"outcome": "granted", "decision_date": "2026-02-03", "extra": {
        "aides_fsl": [{"nature": "energie", "montant": "310.50"}, {"nature": "impayes_loyer", "montant": "1200"},
                      {"nature": "telephone", "montant": "45"}]}})
    assert aids() == [
        ("acces", "premier_loyer", Decimal("380.00"), day("2026-01-20")),
        ("acces", "depot_garantie", Decimal("450.50"), day("2026-01-20")),
        ("acces", "assurance", Decimal("120.00"), day("2026-01-20")),
        ("acces", "demenagement", Decimal("600.00"), day("2026-01-20")),
        ("acces", "frais_agence", Decimal("150.00"), day("2026-01-20")),
        ("maintien", "energie", Decimal("310.50"), day("2026-02-03")),
        ("maintien", "impayes_loyer", Decimal("1200.00"), day("2026-02-03")),
        ("maintien", "telephone", Decimal("45.00"), day("2026-02-03")),
    ]


def test_the_aide_a_la_recherche_is_open_up_to_two_thirds_of_the_net_smic(moselle):
    agent = moselle.actor("agent")
    household = moselle.household()
    exc = refused(ValidationFailed, moselle.draft, AIDE_RECHERCHE, household, quotient_familial="962.08")
    assert exc.fields == {"extra": {"quotient_familial": [
        "Le quotient familial dépasse le plafond de l'aide à la recherche : 2/3 du SMIC net, soit 962,07 €."]}}
    at_ceiling = moselle.request(AIDE_RECHERCHE, quotient_familial="962.07")
    waiting = moselle.request(AIDE_RECHERCHE, quotient_familial="950.00")
    decisions.decide_alone(agent, at_ceiling, {"outcome": "granted", "decision_date": "2026-01-20"})

    # The SMIC is a setting the département admin updates: 2/3 of 1 400,00 € = 933,33 €.
    plugin_service.update_settings(moselle.actor("admin"), "moselle", {"smic_net_monthly": 1400})
    exc = refused(RuleViolation, decisions.decide_alone, agent, waiting,
                  {"outcome": "granted", "decision_date": "2026-01-21"})
    assert codes(exc.violations) == ["quotient_familial_trop_eleve"]
    assert messages(exc.violations) == ["Quotient familial de 950,00 € : l'aide à la recherche est ouverte jusqu'à "
                                        "2/3 du SMIC net, soit 933,33 €."]
    exc = refused(ValidationFailed, moselle.draft, AIDE_RECHERCHE, household, quotient_familial="933.34")
    assert "933,33 €" in exc.fields["extra"]["quotient_familial"][0]
    exc = refused(ValidationFailed, plugin_service.update_settings, moselle.actor("admin"), "moselle",
                  {"smic_net_monthly": 0})
    assert exc.fields == {"smic_net_monthly": ["Le SMIC net mensuel doit être positif."]}


def test_the_sub_letting_route_of_the_aide_a_la_recherche_needs_the_commissions_accord(moselle):
    household = moselle.household()
    request_id = moselle.request(AIDE_RECHERCHE, household, situation_recherche="accord_sous_location")
    exc = refused(RuleViolation, decisions.decide_alone, moselle.actor("agent"), request_id,
                  {"outcome": "granted", "decision_date": "2026-01-20"})
    assert messages(exc.violations) == ["Au titre de la sous-location, l'aide à la recherche suppose l'accord de la "
                                        "commission unique de sous-location avec bail glissant pour ce ménage."]
    moselle.granted(BAIL_GLISSANT, "2026-01-22", household_id=household)
    decision = decisions.decide_alone(moselle.actor("agent"), request_id,
                                      {"outcome": "granted", "decision_date": "2026-01-23"})
    assert decision.measure_id is not None


# =====================================================================================
# Rent-arrears prevention (action 12)
# =====================================================================================
def test_a_first_unpaid_rent_opens_a_prevention_follow_up(moselle):
    agent = moselle.actor("agent")
    household = moselle.household(housing_status="private_tenant")
    exc = refused(ValidationFailed, moselle.draft, PREVENTION_IMPAYES, household, False, montant_impaye="-5")
    assert exc.fields == {"extra": {"montant_impaye": ["Le montant doit être positif."]}}
    request_id = moselle.request(PREVENTION_IMPAYES, household)  # no prior diagnostic: act early
    assert db.session.scalar(sa.select(Request.status).where(Request.id == request_id)) is RequestStatus.SUBMITTED
    exc = refused(RuleViolation, decisions.decide_alone, agent, request_id,
                  {"outcome": "granted", "decision_date": "2026-02-04"})
    assert messages(exc.violations) == ["Le suivi de prévention ne peut s'ouvrir avant le premier impayé de loyer "
                                        "(05/02/2026)."]
    decision = decisions.decide_alone(agent, request_id, {
        "outcome": "granted", "decision_date": "2026-02-05", "operator_id": moselle.org("metz"),
        "extra": {"aides_fsl": [{"nature": "impayes_loyer", "montant": "540"}]}})
    follow_up = db.session.scalars(sa.select(RentArrearsFollowUp)).one()
    assert (follow_up.measure_id, follow_up.household_id, follow_up.first_unpaid_date, follow_up.first_unpaid_amount,
            follow_up.reported_by, follow_up.opened_on) == (decision.measure_id, household, day("2026-02-05"),
                                                            Decimal("540.00"), "bailleur", day("2026-02-05"))
    assert aids() == [("maintien", "impayes_loyer", Decimal("540.00"), day("2026-02-05"))]

    # One follow-up at a time for a household.
    second = moselle.request(PREVENTION_IMPAYES, household, date_premier_impaye="2026-03-05")
    exc = refused(RuleViolation, decisions.decide_alone, agent, second,
                  {"outcome": "granted", "decision_date": "2026-03-06"})
    assert messages(exc.violations) == ["Un suivi de prévention des impayés de loyer est déjà ouvert pour ce ménage."]
    moselle.act("metz", decision.measure_id, "end", end_date="2026-03-06", reason="not_met")
    assert decisions.decide_alone(agent, second, {"outcome": "granted", "decision_date": "2026-03-06"}).measure_id
    assert db.session.scalar(sa.select(sa.func.count(RentArrearsFollowUp.id))) == 2
