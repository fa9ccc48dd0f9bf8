"""Errors are JSON of one shape with French messages per field, with the right status,
and the site's own pages keep their HTML errors."""

from __future__ import annotations

from asll.models import OrganisationKind, Role


def test_invalid_bodies_get_422_with_french_messages_per_field(world, api_as):
    api = api_as(world.loire, Role.PRESCRIBER)
    response = api.post("/households", json={
        "postcode": "4200", "housing_status": "château", "landlord_consent": "peut-être", "couleur": "bleu",
        "members": [{"first_name": "", "birth_date": "01/05/1988"}, "Léo"]})
    assert response.status_code == 422
    body = response.get_json()
    assert (body["code"], body["message"]) == ("validation", "Les données envoyées contiennent des erreurs.")
    assert body["errors"] == {
        "postcode": ["Code postal invalide."],
        "housing_status": ["Statut d'occupation inconnu."],
        "landlord_consent": ["Un booléen (true ou false) est attendu."],
        "couleur": ["Champ inconnu."],
        "members.0.last_name": ["Ce champ est obligatoire."],
        "members.0.first_name": ["Ce champ est obligatoire."],
        "members.0.birth_date": ["Date invalide (format attendu : AAAA-MM-JJ)."],
        "members.1._schema": ["Type de donnée invalide : un objet JSON est attendu."],
    }
    missing = api.post("/households", json={})
    assert missing.get_json()["errors"] == {"members": ["Ce champ est obligatoire."]}
    # A required text that is too long is not "missing": each bound says its own message.
    long_name = api.post("/households", json={"members": [{"last_name": "D" * 121, "first_name": "Ana"}]})
    assert long_name.status_code == 422
    assert long_name.get_json()["errors"] == {"members.0.last_name": ["120 caractères au plus."]}
    not_an_object = api.post("/households", json=["Durand"])
    assert not_an_object.status_code == 422
    assert not_an_object.get_json()["errors"] == {"_schema": ["Type de donnée invalide : un objet JSON est attendu."]}


def test_the_services_own_refusals_keep_their_messages(world, api_as):
    api = api_as(world.loire, Role.PRESCRIBER)
    landlord = api.post("/households", json={"landlord_id": world.orne.orgs[OrganisationKind.LANDLORD].id,
                                              "members": [{"last_name": "Durand", "first_name": "Ana"}]})
    assert landlord.status_code == 422
    assert landlord.get_json()["errors"] == {"landlord_id": ["Bailleur introuvable dans ce département."]}
    draft = api.post("/requests", json={"household_id": world.loire.household.id, "measure_type": "inconnu"})
    assert draft.get_json()["errors"] == {"measure_type": ["Type de mesure inconnu dans ce département."]}


def test_values_the_database_cannot_hold_are_refused_before_it(world, api_as):
    api = api_as(world.loire, Role.DEPT_ADMIN)
    nul = api.post("/households", json={"city": "Saint-\x00Étienne",
                                        "members": [{"last_name": "A", "first_name": "B"}]})
    assert nul.status_code == 422 and nul.get_json()["errors"] == {"city": ["Caractère nul (U+0000) interdit."]}
    query_nul = api.get("/measures?type=loire%00acces")
    assert query_nul.status_code == 422 and list(query_nul.get_json()["errors"]) == ["type"]
    big = api.post("/households", json={"landlord_id": 2**40, "monthly_resources": 10**12,
                                        "members": [{"last_name": "A", "first_name": "B"}]})
    assert big.status_code == 422
    assert big.get_json()["errors"] == {"landlord_id": ["Identifiant invalide."],
                                        "monthly_resources": ["Montant hors des limites admises."]}
    far = api.post(f"/measures/{world.loire.measure.id}/transitions/start", json={"start_date": "9999-12-31"})
    assert far.status_code == 422
    assert far.get_json()["errors"] == {"start_date": ["Date hors des limites admises (1900–2199)."]}
    assert api.get(f"/households/{2**31}").status_code == 404


def test_malformed_json_gets_400(world, api_as):
    api = api_as(world.loire, Role.PRESCRIBER)
    response = api.post("/households", data='{"members": [', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "Le corps de la requête n'est pas un JSON valide."
    abyss = api.post("/households", data="[" * 100_000 + "]" * 100_000, headers={"Content-Type": "application/json"})
    assert abyss.status_code == 400


def test_deeply_nested_bodies_are_refused(world, api_as):
    api = api_as(world.loire, Role.PRESCRIBER)
    nested: dict = {}
    for _ in range(40):
        nested = {"niveau": nested}
    response = api.post("/households", json={"extra": nested, "members": [{"last_name": "A", "first_name": "B"}]})
    assert response.status_code == 422
    [(path, messages)] = response.get_json()["errors"].items()
    assert path.startswith("extra.niveau.") and messages == ["Structure trop profonde (32 niveaux au plus)."]


def test_unknown_addresses_and_methods_answer_json(world, api_as, client):
    api = api_as(world.loire, Role.PRESCRIBER)
    unknown = api.get("/nulle-part")
    assert unknown.status_code == 404 and unknown.mimetype == "application/json"
    assert unknown.get_json() == {"code": "introuvable", "message": "Ressource introuvable.", "errors": {}}
    not_a_number = api.get("/households/abc")
    assert not_a_number.status_code == 404 and not_a_number.get_json()["code"] == "introuvable"
    method = api.delete("/households")
    assert method.status_code == 405 and method.get_json()["code"] == "methode_non_autorisee"
    assert set(method.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    missing = api.get(f"/measures/{world.loire.measure.id + 1000}")
    assert missing.status_code == 404 and missing.get_json()["message"] == "Mesure introuvable."
    # The site's pages keep their HTML error pages.
    page = client.get("/nulle-part")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_an_unexpected_failure_is_a_json_500_without_details(world, api_as, app, monkeypatch):
    from asll.services import households

    def broken(*args, **kwargs):
        raise RuntimeError("secret interne")

    monkeypatch.setattr(households, "list_households", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = api_as(world.loire, Role.PRESCRIBER).get("/households")
    assert response.status_code == 500
    assert response.get_json() == {"code": "erreur_interne", "message": "Erreur interne du serveur.", "errors": {}}
