"""The measure state machine, as an explicit transition table.

Pure data and functions: no database, no request. The services check the actor's
role against ``roles``, call the plugins' validation hook, then apply the transition.
"""

from __future__ import annotations

from dataclasses import dataclass

from asll.models.cases import MeasureStatus as S
from asll.models.core import Role as R

ACTIVE = frozenset({S.STARTED, S.RUNNING, S.PROLONGATION_REQUESTED, S.SUSPENDED})


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[S]
    target: S | None  # None: the status does not change (e.g. a transfer)
    roles: frozenset[R]
    own_operator_only: bool = False  # an operator worker acts only on its organisation's measures


def _t(name, label, sources, target, roles, own_operator_only=False) -> Transition:
    return Transition(name, label, frozenset(sources), target, frozenset(roles), own_operator_only)


SERVICE = {R.DEPT_AGENT, R.DEPT_ADMIN}
OPERATOR = {R.OPERATOR_WORKER}

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("assign_operator", "Désigner l'opérateur", {S.GRANTED, S.OPERATOR_ASSIGNED}, S.OPERATOR_ASSIGNED,
           SERVICE | {R.COMMISSION_SECRETARY}),
        _t("start", "Démarrer la mesure (contrat signé)", {S.OPERATOR_ASSIGNED}, S.STARTED,
           OPERATOR | SERVICE, own_operator_only=True),
        _t("record_contract_sent", "Enregistrer l'envoi du contrat", {S.STARTED, S.RUNNING}, None,
           OPERATOR | SERVICE, own_operator_only=True),
        _t("record_action_plan", "Enregistrer le plan d'action", {S.STARTED}, S.RUNNING,
           OPERATOR | SERVICE, own_operator_only=True),
        _t("request_prolongation", "Demander une prolongation", {S.STARTED, S.RUNNING}, S.PROLONGATION_REQUESTED,
           OPERATOR | SERVICE, own_operator_only=True),
        _t("grant_prolongation", "Accorder la prolongation", {S.PROLONGATION_REQUESTED}, S.RUNNING,
           SERVICE | {R.COMMISSION_SECRETARY}),
        _t("refuse_prolongation", "Refuser la prolongation", {S.PROLONGATION_REQUESTED}, S.RUNNING,
           SERVICE | {R.COMMISSION_SECRETARY}),
        _t("suspend", "Suspendre la mesure", {S.STARTED, S.RUNNING}, S.SUSPENDED, SERVICE),
        _t("resume", "Reprendre la mesure", {S.SUSPENDED}, S.RUNNING, SERVICE | OPERATOR, own_operator_only=True),
        _t("transfer", "Transférer la mesure", {S.OPERATOR_ASSIGNED, S.STARTED, S.RUNNING, S.SUSPENDED}, None,
           SERVICE),
        _t("end", "Mettre fin à la mesure", ACTIVE | {S.OPERATOR_ASSIGNED}, S.ENDED, OPERATOR | SERVICE,
           own_operator_only=True),
        _t("record_bilan", "Enregistrer le bilan", {S.ENDED}, S.BILAN_RECEIVED, OPERATOR | SERVICE,
           own_operator_only=True),
        _t("close", "Clôturer la mesure", {S.BILAN_RECEIVED, S.ENDED}, S.CLOSED, SERVICE),
    )
}

# Every step of a measure's timeline as the users read it: the grant, then the transitions.
TRANSITION_LABELS = {"grant": "Mesure accordée", **{name: t.label for name, t in TRANSITIONS.items()}}


END_REASONS = {
    "term": "Fin à l'échéance prévue",
    "not_met": "Ménage non rencontré",
    "no_adhesion": "Absence d'adhésion du ménage",
    "broke_off": "Rupture par le ménage",
    "moved": "Déménagement",
    "hand_over": "Relais vers un autre dispositif",
}
# Ends after which no bilan can be expected from the household.
NO_BILAN_REASONS = frozenset({"not_met", "no_adhesion", "broke_off"})
# A measure that never started can only end because the household was never met or refused it.
END_REASONS_BEFORE_START = frozenset({"not_met", "no_adhesion"})

TRANSFER_REASONS = {
    "move": "Déménagement hors du secteur de l'opérateur",
    "separation": "Séparation du couple",
    "other": "Autre motif",
}


class TransitionRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_allowed(name: str, status: S) -> Transition:
    """Return the transition if it exists and may leave ``status``; refuse otherwise."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionRefused("transition_inconnue", f"Action « {name} » inconnue.")
    if status not in transition.sources:
        raise TransitionRefused(
            "transition_interdite",
            f"« {transition.label} » est impossible pour une mesure à l'état « {status.label} ».",
        )
    return transition


def available(status: S) -> list[Transition]:
    """Transitions that may leave ``status`` (the UI filters them further by role)."""
    return [t for t in TRANSITIONS.values() if status in t.sources]
