"""Fixtures of the page tests: a logged-in test client per role, a page parser, and a fake
plugin whose fields cover every kind the pages render generically."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import marshmallow as ma
import pytest

from asll.toolkit import (
    CommissionDef,
    CommissionRole,
    MeasureKind,
    MeasureTypeDef,
    PluginInfo,
    Violation,
    hookimpl,
)
from tests.conftest import login


@pytest.fixture
def as_role(app, world):
    """A fresh test client logged in as one role of the Loire (or of another tenant of ``world``)."""

    def _login(role, tenant: str = "loire"):
        client = app.test_client()
        response = login(client, getattr(world, tenant).users[role].email, world.password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


class Page(HTMLParser):
    """The bits of a page the tests look at: inputs by name, ids, links, error summary entries."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.inputs: dict[str, list[dict]] = {}
        self.ids: set[str] = set()
        self.labels_for: set[str] = set()
        self.links: list[str] = []
        self.summary_links: list[str] = []
        self._in_summary = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("input", "select", "textarea") and "name" in attrs:
            self.inputs.setdefault(attrs["name"], []).append({"tag": tag, **attrs})
        if tag == "label" and "for" in attrs:
            self.labels_for.add(attrs["for"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
            if self._in_summary:
                self.summary_links.append(attrs["href"])
        if tag == "div" and "error-summary" in (attrs.get("class") or ""):
            self._in_summary += 1

    def handle_endtag(self, tag):
        if tag == "div" and self._in_summary:
            self._in_summary -= 1

    def widget(self, name: str) -> dict:
        assert name in self.inputs, f"no input named {name!r}; inputs: {sorted(self.inputs)}"
        return self.inputs[name][0]

    def assert_labelled(self) -> None:
        """Every visible input, select and textarea has a <label for=...>."""
        for name, widgets in self.inputs.items():
            for w in widgets:
                if w.get("type") in ("hidden", "submit"):
                    continue
                assert w.get("id") in self.labels_for, f"input {name!r} (id {w.get('id')!r}) has no label"

    def assert_summary_targets_exist(self) -> None:
        assert self.summary_links, "no error summary link"
        for href in self.summary_links:
            assert href.startswith("#") and href[1:] in self.ids, f"summary link {href} points nowhere"


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# -- a fake département plugin contributing fields of every kind --------------------------
FORMS = "formes"
SHORT = "formes.court"  # decided by the département's service alone
COMMISSION_TYPE = "formes.commission"
COMMISSION = "formes.cl"


class FormsSettings(ma.Schema):
    delai_bilan_jours = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, error="Au moins 1 jour."),
                                          metadata={"label": "Délai du bilan (jours)"})
    modes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(validate=ma.validate.OneOf(
        ["seul", "commission"], labels=["Responsable seul", "Commission mensuelle"])),
        load_default=lambda: {"Nord": "seul", "Sud": "commission"}, metadata={"label": "Mode de validation"})


class ReferentSchema(ma.Schema):
    nom = ma.fields.String(required=True, error_messages={"required": "Indiquez le nom du référent."},
                           metadata={"label": "Nom du référent"})
    service = ma.fields.String(validate=ma.validate.OneOf(["ccas", "cms"]), metadata={
        "label": "Service", "choice_labels": {"ccas": "CCAS", "cms": "Centre médico-social"}})
    depuis = ma.fields.Date(metadata={"label": "Référent depuis le"})


class AideSchema(ma.Schema):
    nature = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["caution", "assurance"], labels=["Dépôt de garantie", "Assurance habitation"]),
        error_messages={"required": "Indiquez la nature de l'aide."}, metadata={"label": "Nature de l'aide"})
    montant = ma.fields.Decimal(required=True, places=2, as_string=True,
                                error_messages={"required": "Indiquez le montant.", "invalid": "Montant invalide."},
                                metadata={"label": "Montant (€)"})


class FormsPlugin:
    """Fields of every marshmallow kind the pages must render generically."""

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name=FORMS, label="Plugin de formulaires", departement_code="98",
                          departement_name="Essai", settings_schema=FormsSettings)

    @hookimpl
    def asll_measure_types(self, tenant):
        return [MeasureTypeDef(code=SHORT, label="Mesure courte (service)", kind=MeasureKind.MAINTIEN,
                               default_months=4, max_months=6, commission=None, requires_diagnostic=False),
                MeasureTypeDef(code=COMMISSION_TYPE, label="Mesure en commission", kind=MeasureKind.ACCES,
                               default_months=6, max_months=6, commission=COMMISSION, requires_diagnostic=False)]

    @hookimpl
    def asll_commissions(self, tenant):
        return [CommissionDef(code=COMMISSION, label="Commission locale d'essai", role=CommissionRole.DECIDES,
                              examines=(COMMISSION_TYPE,))]

    @hookimpl
    def asll_request_fields(self, tenant, measure_type):
        if measure_type != SHORT:
            return {}
        return {
            "numero_allocataire": ma.fields.String(
                required=True, validate=ma.validate.Length(max=20),
                error_messages={"required": "Le numéro d'allocataire est obligatoire."},
                metadata={"label": "Numéro d'allocataire CAF", "description": "7 chiffres."}),
            "date_impaye": ma.fields.Date(load_default=None, metadata={"label": "Date du premier impayé"}),
            "bail_signe": ma.fields.Boolean(load_default=False, metadata={"label": "Bail signé"}),
            "public": ma.fields.String(load_default=None, validate=ma.validate.OneOf(
                ["P1", "P2"], labels=["Public P1 (DALO)", "Public P2 (sortie d'hébergement)"]),
                metadata={"label": "Public prioritaire"}),
            "domaines": ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(
                ["budget", "dette", "voisinage"], labels=["Budget", "Dette de loyer", "Voisinage"])),
                load_default=list, metadata={"label": "Domaines d'intervention"}),
            "enfants": ma.fields.Integer(load_default=None, metadata={"label": "Nombre d'enfants"}),
            "dette": ma.fields.Decimal(load_default=None, places=2, metadata={"label": "Montant de la dette (€)"}),
        }

    @hookimpl
    def asll_household_fields(self, tenant):
        return {"quartier_prioritaire": ma.fields.Boolean(load_default=False,
                                                          metadata={"label": "Quartier prioritaire de la ville"}),
                "referent": ma.fields.Nested(ReferentSchema, metadata={"label": "Référent social"}),
                "aides": ma.fields.List(ma.fields.Nested(AideSchema), metadata={"label": "Aides du FSL"})}

    @hookimpl
    def asll_validate_transition(self, tenant, measure, transition, data):
        if transition == "grant" and (data.get("extra") or {}).get("avis_service") == "Réservé":
            return [Violation("avis_reserve", "Avis du service réservé : prévoyez un point d'étape à un mois.",
                              blocking=False)]
        return []

    @hookimpl
    def asll_transition_fields(self, tenant, measure, transition):
        if transition == "start":
            return {"lieu_premier_rdv": ma.fields.String(
                required=True, validate=ma.validate.OneOf(["domicile", "bureau"], labels=["À domicile", "Au bureau"]),
                error_messages={"required": "Indiquez le lieu du premier rendez-vous."},
                metadata={"label": "Lieu du premier rendez-vous"})}
        if transition == "grant":
            return {"avis_service": ma.fields.String(load_default=None, metadata={"label": "Avis du service"})}
        return {}


@pytest.fixture
def forms_plugin(app, world):
    """The fake plugin, registered and enabled for the Loire for one test."""
    from asll.services import plugins as plugin_service
    from asll.services.actor import Actor

    registry = app.extensions["asll_plugins"]
    plugin = FormsPlugin()
    registry.register(plugin, FORMS)
    try:
        with app.app_context():
            plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, FORMS, True)
        yield plugin
    finally:
        registry.unregister(FORMS)
        with app.app_context():
            plugin_service._forget_cache()
