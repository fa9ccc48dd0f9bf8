"""The core's own behaviour, as a plugin registered first and answering last.

Built-in defaults are hook implementations like any other (Datasette's
``DEFAULT_PLUGINS``), so the core is the first user of its own hooks.
"""

from __future__ import annotations

from asll.plugins.contract import SupportMeasureDef
from asll.plugins.hookspecs import hookimpl

NATIONAL_SUPPORT_MEASURES = (
    SupportMeasureDef("MASP", "Mesure d'accompagnement social personnalisé (MASP)"),
    SupportMeasureDef("MAESF", "Mesure d'accompagnement en économie sociale et familiale (MAESF)"),
    SupportMeasureDef("MAJ", "Mesure d'accompagnement judiciaire (MAJ)"),
    SupportMeasureDef("MJAGBF", "Mesure judiciaire d'aide à la gestion du budget familial (MJAGBF)"),
    SupportMeasureDef("TPF", "Tutelle aux prestations familiales"),
    SupportMeasureDef("PROTECTION_MAJEUR", "Mesure de protection des majeurs exercée par un travailleur social"),
    SupportMeasureDef("SUIVI_RSA", "Suivi spécifique d'insertion (RMI / RSA)"),
    SupportMeasureDef("AEMO", "Action éducative en milieu ouvert administrative (AEMO)"),
    SupportMeasureDef("AVDL", "Accompagnement vers et dans le logement (AVDL)"),
)

DEFAULT_REMINDER_STEPS = (-15, -3, 0)


@hookimpl(trylast=True)
def asll_support_measures(tenant):
    return list(NATIONAL_SUPPORT_MEASURES)


@hookimpl(trylast=True)
def asll_reminder_steps(tenant):
    return DEFAULT_REMINDER_STEPS
