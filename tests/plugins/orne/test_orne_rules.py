"""Every rule of the Orne (seed 001), walked through the services with a fixed clock.

Refusals are checked with their French messages and leave the database unchanged;
warnings (agreement, portfolio, circonscription) come back with their figures.
"""

from __future__ import annotations

import sqlalchemy as sa

import asll_orne.plugin as orne
from asll.extensions import db
from asll.models import Measure, MeasureStatus, Request
from asll.services import decisions, requests
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import ServiceError, ValidationFailed
from asll.services.measures import RuleViolation
from asll.tenancy import tenant_context
from asll_orne.models import OrneMeasureDomain, OrneMeasureRecord
from asll_orne.reports import export_columns, statistics
from tests.core.workflow_support import refused
from tests.plugins.orne.support import (
    AOLTJ,
    CHRS,
    ENTRY,
    EXIT,
    day,
    draft,
    granted,
    household,
    measure_row,
    obligations,
    started,
    step,
    submitted,
    validate,
)


def _codes(error) -> list[str]:
    return [v.code for v in error.violations]


def _messages(warnings) -> dict[str, str]:
    return {w.code: w.message for w in warnings}


def _record(measure_id: int) -> OrneMeasureRecord:
    db.session.expire_all()
    return db.session.scalar(sa.select(OrneMeasureRecord).where(OrneMeasureRecord.measure_id == measure_id))


def _switch(env, circonscription: str, mode: str) -> None:
    settings = dict(plugin_service.tenant_info(env.tenant_id).settings_for("orne"))
    settings["validation_modes"] = {**settings["validation_modes"], circonscription: mode}
    plugin_service.update_settings(env.admin, "orne", settings)


# -- requests --------------------------------------------------------------------------------
def test_request_origins_are_the_seeds_and_there_is_no_means_test(env):
    request = requests.save_draft(env.prescriber, {"household_id": household(env), "measure_type": orne.INTERNE,
                                                   "consent_given_by": "Marie Leroy", "consent_date": "2026-03-01"})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, request.id)
    message = ("Indiquez l'origine de la demande : la famille, un travailleur social, le bailleur, une association "
               "d'insertion, ou une orientation de la CDAPL, du FSL ou de la commission de concertation.")
    assert exc.fields == {"extra": {"origine": [message]}}
    exc = refused(ValidationFailed, requests.save_draft, env.prescriber, {"extra": {"origine": "mairie"}}, request.id)
    assert exc.fields == {"extra": {"origine": [message]}}
    for origin in ("famille", "travailleur_social", "bailleur", "association_insertion", "cdapl", "fsl",
                   "commission_concertation"):
        requests.save_draft(env.prescriber, {"extra": {"origine": origin}}, request.id)
    # no diagnostic is required (the family may ask itself) and no resources condition applies
    assert requests.submit(env.prescriber, request.id).commission_code == orne.VALIDATION
    rich = household(env, monthly_resources="4800.00", name="Aisé")
    measure_id = granted(env, household_id=rich, operator=env.circ("Flers"))
    assert measure_row(measure_id).status is MeasureStatus.OPERATOR_ASSIGNED
    assert _record(measure_id).origin == "travailleur_social"
    origin = {c.key: c for c in export_columns()}["orne_origine"]
    assert origin.value(measure_row(measure_id)) == "L'évaluation d'un travailleur social"


def test_an_agreed_insertion_association_may_run_the_measure_itself(env):
    young = household(env, "Alençon", "accommodation", born="2004-06-12")
    extra = {"origine": "association_insertion", "alt": True, "exercee_par_association": True}
    request_id = submitted(env, orne.JEUNES_ALT, young, {**extra, "association_agreee": False})
    exc = refused(RuleViolation, validate, env, request_id, operator_id=env.org(AOLTJ))
    assert exc.message == "Seule une association agréée peut exercer elle-même la mesure qu'elle demande."
    request_id = submitted(env, orne.JEUNES_ALT, household(env, "Alençon", born="2004-06-12"),
                           {**extra, "association_agreee": True})
    exc = refused(RuleViolation, validate, env, request_id)
    assert exc.message == "L'association agréée exerce elle-même la mesure : désignez-la comme opérateur."
    assert measure_row(validate(env, request_id, operator_id=env.org(AOLTJ)).measure_id).operator_id == \
        env.org(AOLTJ)


# -- validation per circonscription ---------------------------------------------------------------
def test_validation_by_the_head_of_circonscription_or_the_monthly_commission(env):
    request_id = submitted(env, household_id=household(env, "Flers"))
    exc = refused(RuleViolation, validate, env, request_id, extra={"date_commission_mensuelle": "2026-03-04"})
    assert exc.message == ("Dans la circonscription de Flers, le responsable de circonscription valide seul les "
                           "mesures, sans commission mensuelle.")
    measure_id = validate(env, request_id).measure_id
    assert _record(measure_id).validated_by == "responsable"
    assert db.session.get(Request, request_id).commission_code == orne.VALIDATION
    # A request filed before Argentan switched to a monthly commission stays with its head...
    earlier = submitted(env, household_id=household(env, "Argentan"))
    # ...then the département admin says, in the plugin's settings, that Argentan holds one.
    _switch(env, "Argentan", "commission")
    assert plugin_service.tenant_info(env.tenant_id).settings_for("orne")["validation_modes"]["Argentan"] == \
        "commission"
    exc = refused(RuleViolation, validate, env, earlier)
    assert exc.message == ("Dans la circonscription d'Argentan, les mesures sont validées par la commission "
                           "mensuelle : indiquez la date de la séance qui a validé la mesure.")
    measure_id = validate(env, earlier, extra={"date_commission_mensuelle": "2026-03-04"}).measure_id
    assert (_record(measure_id).validated_by, _record(measure_id).circonscription) == ("commission", "Argentan")
    assert measure_row(measure_id).extra["date_commission_mensuelle"] == "2026-03-04"
    # A request filed now goes to the monthly commission, which decides it in session.
    request_id = submitted(env, household_id=household(env, "Argentan"))
    assert db.session.get(Request, request_id).commission_code == orne.COMMISSION_MENSUELLE
    exc = refused(ServiceError, validate, env, request_id)
    assert exc.message == "Cette demande relève de la commission « Commission mensuelle de circonscription »."
    session = decisions.create_session(env.secretary, {"commission_code": orne.COMMISSION_MENSUELLE,
                                                       "session_date": "2026-03-10"})
    decisions.build_agenda(env.secretary, session.id)
    assert [item.request_id for item in session.items] == [request_id]  # only what the commission examines
    [decision] = decisions.decide_in_session(env.secretary, session.id, {request_id: {"outcome": "granted"}})
    assert (_record(decision.measure_id).validated_by, _record(decision.measure_id).circonscription) == \
        ("commission", "Argentan")
    assert measure_row(decision.measure_id).decision_date == day("2026-03-10")
    # the other circonscriptions keep their own mode
    validate(env, submitted(env, household_id=household(env, "Flers")))
    unknown = submitted(env, household_id=household(env, "Caen"))
    exc = refused(RuleViolation, validate, env, unknown)
    assert exc.message == ("Le ménage doit être rattaché à une circonscription d'action sociale (Alençon, Argentan, "
                           "Flers, L'Aigle-Mortagne) : renseignez son secteur.")


def test_settings_refuse_an_unknown_validation_mode(env):
    exc = refused(ValidationFailed, plugin_service.update_settings, env.admin, "orne",
                  {"validation_modes": {"Flers": "vote"}})
    assert exc.fields == {"validation_modes": {"Flers": {"value": [
        "Mode de validation inconnu : « responsable » (le responsable de circonscription valide seul) ou "
        "« commission » (commission mensuelle de circonscription)."]}}}


# -- internal and external measures --------------------------------------------------------------
def test_internal_measures_are_run_by_the_circonscription_asll_worker(env):
    request_id = submitted(env, household_id=household(env, "Flers"))
    exc = refused(RuleViolation, validate, env, request_id, operator_id=env.org(AOLTJ))
    assert exc.message == ("Cette mesure est exercée par le travailleur social ASLL d'une circonscription d'action "
                           "sociale, pas par AOLTJ – Association pour le logement temporaire des jeunes.")
    measure_id = granted(env, household_id=household(env, "Flers"))
    _m, warnings = step(env, measure_id, "assign_operator", {"operator_id": env.circ("Alençon")})
    assert _messages(warnings) == {"hors_circonscription": "Le ménage relève de la circonscription « Flers » et non "
                                                           "de Circonscription d'action sociale – Alençon."}


def test_internal_portfolio_of_35_measures_is_warned_with_the_figures(env):
    for _ in range(35):
        granted(env, household_id=household(env, "L'Aigle-Mortagne"), operator=env.circ("L'Aigle-Mortagne"))
    measure_id = granted(env, household_id=household(env, "L'Aigle-Mortagne"))
    _m, warnings = step(env, measure_id, "assign_operator", {"operator_id": env.circ("L'Aigle-Mortagne")})
    assert _messages(warnings) == {"portefeuille_plein": "Portefeuille complet : Circonscription d'action sociale – "
                                                         "L'Aigle-Mortagne suit déjà 35 mesure(s) pour un "
                                                         "portefeuille de 35 (36 avec celle-ci)."}


def test_aoltj_measures_are_for_young_people_of_18_to_25_with_an_alt(env):
    young = household(env, "Alençon", "accommodation", born="2004-06-12")
    request_id = draft(env, orne.JEUNES_ALT, young, {"origine": "travailleur_social"})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, request_id)
    assert exc.fields == {"extra": {"alt": ["La mesure jeunes doit être adossée à une allocation de logement "
                                            "temporaire (ALT)."]}}
    older = submitted(env, orne.JEUNES_ALT, household(env, "Alençon", born="1995-03-06"))
    exc = refused(RuleViolation, validate, env, older, operator_id=env.org(AOLTJ))
    assert exc.message == ("Les mesures AOLTJ sont réservées aux jeunes de 18 à 25 ans : la personne de référence "
                           "a 30 ans.")
    turning_26 = submitted(env, orne.JEUNES_ALT, household(env, "Alençon", born="2000-03-05"))
    assert _codes(refused(RuleViolation, validate, env, turning_26, operator_id=env.org(AOLTJ))) == \
        ["age_hors_public"]
    exc = refused(RuleViolation, validate, env, submitted(env, orne.JEUNES_ALT, young),
                  operator_id=env.circ("Alençon"))
    assert exc.message == ("Cette mesure est exercée par l'AOLTJ (association pour le logement temporaire des "
                           "jeunes), pas par Circonscription d'action sociale – Alençon.")
    measure_id = granted(env, orne.JEUNES_ALT, env.org(AOLTJ), household_id=young)
    assert _record(measure_id).organisation == "externe"


def test_chrs_measures_are_an_after_care_for_people_leaving_it(env):
    request_id = draft(env, orne.CHRS_SUITE, None, {"origine": "travailleur_social"})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, request_id)
    assert exc.fields == {"extra": {"sortie_chrs_le": [
        "Indiquez la date de sortie du CHRS : la mesure s'inscrit dans son service de suite."]}}
    exc = refused(RuleViolation, validate, env, submitted(env, orne.CHRS_SUITE), operator_id=env.org(AOLTJ))
    assert exc.message.startswith("Cette mesure est exercée par le CHRS, dans le cadre de son service de suite")
    assert measure_row(granted(env, orne.CHRS_SUITE, env.org(CHRS))).status is MeasureStatus.OPERATOR_ASSIGNED


def test_agreement_counted_in_measures_and_mois_mesures(env):
    plugin_service.update_settings(env.admin, "orne", {"agreement_measures": 2, "agreement_month_measures": 10})
    granted(env, orne.CHRS_SUITE, env.org(CHRS))
    granted(env, orne.CHRS_SUITE, env.org(CHRS), duration_months=3)  # 9 mois-mesures so far
    granted(env, orne.INTERNE, env.circ("Flers"))  # internal: not in the agreement
    third = granted(env, orne.JEUNES_ALT, household_id=household(env, "Flers", born="2003-01-01"))
    _m, warnings = step(env, third, "assign_operator", {"operator_id": env.org(AOLTJ)})
    assert _messages(warnings) == {
        "convention_mesures": "Convention dépassée : 2 mesures externes déjà accordées en 2026 pour 2 mesures "
                              "conventionnées (3 avec celle-ci).",
        "convention_mois_mesures": "Convention dépassée : 9 mois-mesures déjà accordés en 2026 pour 10 "
                                   "conventionnés (15 avec celle-ci)."}
    table = {t.key: t for t in statistics(plugin_service.tenant_info(env.tenant_id), 2026)}["orne.convention"]
    assert table.rows == (("Mesures externes", 2, 3, 150), ("Mois-mesures", 10, 15, 150))
    defaults = {t.key: t for t in statistics(None, 2026)}["orne.convention"]
    assert defaults.rows == (("Mesures externes", 127, 3, 2), ("Mois-mesures", 762, 15, 2))


# -- evaluation: domains, situation at entry and exit, the 6-month contact --------------------------
def test_domains_and_situation_at_entry_are_recorded_at_the_start(env):
    measure_id = granted(env, operator=env.circ("Flers"))
    exc = refused(ValidationFailed, step, env, measure_id, "start", {"start_date": "2026-03-10"})
    assert exc.fields == {"extra": {"domaines": ["Indiquez au moins un domaine d'intervention."],
                                    "ressources_entree": ["Indiquez les ressources du ménage."],
                                    "situation_pro_entree": ["Indiquez la situation socioprofessionnelle."]}}
    exc = refused(ValidationFailed, step, env, measure_id, "start",
                  {"start_date": "2026-03-10", "extra": {**ENTRY, "domaines": ["jardinage"]}})
    assert exc.fields == {"extra": {"domaines": {0: ["Domaine d'intervention inconnu."]}}}
    step(env, measure_id, "start", {"start_date": "2026-03-10", "extra": {
        **ENTRY, "domaines": ["acces", "organisation_budgetaire", "endettement", "appropriation", "insertion",
                              "mediation"]}})
    assert sorted(db.session.scalars(sa.select(OrneMeasureDomain.domain)
                                     .where(OrneMeasureDomain.measure_id == measure_id))) == [
        "acces", "appropriation", "endettement", "insertion", "mediation", "organisation_budgetaire"]
    record = _record(measure_id)
    assert (record.entry_housing, record.entry_resources, record.entry_situation) == (
        "public_tenant", "minima_sociaux", "recherche_emploi")


def test_situation_at_exit_and_housing_result_are_required_at_the_end(env):
    measure_id = started(env, operator=env.circ("Flers"))
    exc = refused(RuleViolation, step, env, measure_id, "end", {"end_date": "2026-09-10", "reason": "term"})
    assert exc.message == ("Renseignez la situation du ménage à la sortie : ressources, situation socioprofessionnelle "
                           "et résultat au regard du logement.")
    step(env, measure_id, "end", {"end_date": "2026-09-10", "reason": "term",
                                  "extra": {**EXIT, "domaines": ["endettement"]}})
    record = _record(measure_id)
    assert (record.exit_resources, record.exit_situation, record.housing_result) == (
        "revenus_activite", "emploi", "maintien")
    assert list(db.session.scalars(sa.select(OrneMeasureDomain.domain)
                                   .where(OrneMeasureDomain.measure_id == measure_id))) == ["endettement"]
    never_met = granted(env, operator=env.circ("Flers"))
    step(env, never_met, "end", {"end_date": "2026-04-10", "reason": "not_met"})  # nothing to evaluate
    rows = {r[0]: r[1:] for r in {t.key: t for t in statistics(None, 2026)}["orne.situation"].rows}
    assert rows["Ressources : Minima sociaux"] == (1, 0)
    assert rows["Ressources : Revenus d'activité"] == (0, 1)
    assert rows["Situation socioprofessionnelle : Emploi"] == (0, 1)
    assert rows["Logement à l'entrée : Locataire du parc public"] == (1, "")
    assert rows["Résultat au regard du logement : Maintien dans le logement"] == ("", 1)


def test_contact_six_months_after_the_end_is_a_dated_obligation(env):
    measure_id = started(env, operator=env.circ("Flers"), start="2026-03-10")
    assert "orne_contact_6_mois" not in obligations(measure_id)
    step(env, measure_id, "end", {"end_date": "2026-08-31", "reason": "term", "extra": EXIT})
    state, due, label = obligations(measure_id)["orne_contact_6_mois"]
    assert (state, due.isoformat()) == ("open", "2027-02-28")  # 31 August + 6 months, clamped
    assert label == "Contacter le ménage 6 mois après la fin de la mesure pour faire le point sur sa situation"
    step(env, measure_id, "record_bilan", {"bilan_date": "2026-09-15", "summary": "Dette apurée.",
                                           "signed_by_household": True})
    exc = refused(RuleViolation, step, env, measure_id, "close", {"close_date": "2026-09-20"})
    assert exc.message == ("La mesure ne peut être clôturée qu'après le contact avec le ménage 6 mois après la fin, "
                           "à partir du 28/02/2027.")
    exc = refused(RuleViolation, step, env, measure_id, "close",
                  {"close_date": "2027-01-10", "extra": {"contact_6_mois_le": "2027-01-10"}})
    assert exc.message == ("Le contact avec le ménage a lieu 6 mois après la fin de la mesure, soit à partir du "
                           "28/02/2027.")
    exc = refused(ValidationFailed, step, env, measure_id, "close", {"close_date": "2027-03-02", "extra": {
        "contact_6_mois_le": "2027-03-01", "contact_6_mois_point": "x" * 2001}})
    assert exc.fields == {"extra": {"contact_6_mois_point": ["2000 caractères au plus."]}}
    step(env, measure_id, "close", {"close_date": "2027-03-02", "extra": {
        "contact_6_mois_le": "2027-03-01", "contact_6_mois_point": "Loyer payé, pas de nouvel impayé."}})
    assert obligations(measure_id)["orne_contact_6_mois"][0] == "done"
    assert (measure_row(measure_id).status, _record(measure_id).contact_date.isoformat()) == (
        MeasureStatus.CLOSED, "2027-03-01")


def test_domain_headings_origins_and_tenant_scoping_of_the_statistics(env, world):
    started(env, operator=env.circ("Flers"), entry={**ENTRY, "domaines": ["acces", "mediation"]})
    started(env, operator=env.circ("Flers"), household_id=household(env, "Flers", "hosted"),
            entry={**ENTRY, "domaines": ["acces", "insertion"]})
    tables = {t.key: t for t in statistics(None, 2026)}
    assert tables["orne.domaines"].rows == (
        ("Maintien dans le logement", 1, 50), ("Relogement", 1, 50), ("Appropriation du logement", 0, 0),
        ("Accès au logement", 1, 50), ("Insertion dans le logement et dans le quartier", 1, 50))
    assert dict((r[0], r[1]) for r in tables["orne.contenu"].rows)[
        "Accès à un logement adapté à la situation familiale et financière"] == 2
    assert dict((r[0], r[1:]) for r in tables["orne.origines"].rows)["L'évaluation d'un travailleur social"] == (2, 100)
    with tenant_context(world.loire.tenant.id):
        assert {t.key: t for t in statistics(None, 2026)}["orne.domaines"].rows[0] == (
            "Maintien dans le logement", 0, 0)


# -- the plugin per tenant -----------------------------------------------------------------------
def test_disabling_the_plugin_hides_its_types_and_commissions_and_keeps_the_cases(env):
    measure_id = started(env, operator=env.circ("Flers"))
    stored = {m.id: (m.status, m.measure_type) for m in db.session.scalars(sa.select(Measure))}
    requests_before = {r.id: r.status for r in db.session.scalars(sa.select(Request))}
    records = db.session.scalar(sa.select(sa.func.count(OrneMeasureDomain.id)))
    plugin_service.set_enabled(Actor.system(), env.tenant_id, "orne", False)
    assert not any(code.startswith("orne.") for code in plugin_service.measure_types(env.tenant_id))
    assert not any(code.startswith("orne.") for code in plugin_service.commissions(env.tenant_id))
    exc = refused(ValidationFailed, decisions.create_session, env.secretary,
                  {"commission_code": orne.COMMISSION_MENSUELLE, "session_date": "2026-04-01"})
    assert exc.fields == {"commission_code": ["Commission inconnue dans ce département."]}
    exc = refused(ServiceError, step, env, measure_id, "record_action_plan", {"plan_date": "2026-04-01"})
    assert exc.code == "type_inconnu"
    assert {m.id: (m.status, m.measure_type) for m in db.session.scalars(sa.select(Measure))} == stored
    assert {r.id: r.status for r in db.session.scalars(sa.select(Request))} == requests_before
    assert db.session.scalar(sa.select(sa.func.count(OrneMeasureDomain.id))) == records
    plugin_service.set_enabled(Actor.system(), env.tenant_id, "orne", True)
    _m, _w = step(env, measure_id, "record_action_plan", {"plan_date": "2026-04-01"})
    assert measure_row(measure_id).status is MeasureStatus.RUNNING
