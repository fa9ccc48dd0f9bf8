"""The OpenAPI document: public, valid OpenAPI 3.0, and complete (every route, every response)."""

from __future__ import annotations

import copy
import re

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30  # the OpenAPI 3.0 meta-schema schemathesis ships


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")  # no authentication: the document holds no data
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _problems(document) -> list[str]:
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in jsonschema_rs.Draft4Validator(OPENAPI_30).iter_errors(document)]


def test_the_document_is_valid_openapi_3_0(document):
    assert document["openapi"].startswith("3.0.")
    assert _problems(document) == []
    # The validator does catch a broken document (a bound written as text, a response without description).
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["HouseholdIn"]["properties"]["monthly_resources"]["minimum"] = "0"
    del broken["paths"]["/api/v1/households"]["get"]["responses"]["200"]["description"]
    assert len(_problems(broken)) >= 2


def test_every_api_route_is_documented_with_its_responses(app, document):
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "patch", "put", "delete")}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
    for path, method in documented:
        operation = document["paths"][path][method]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, f"{method} {path}"
        for code in success:
            assert operation["responses"][code]["content"], f"{method} {path} {code}"
        assert operation["responses"]["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}
        assert operation["summary"] and operation["tags"]


def test_errors_and_security_are_declared(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "errors"}
    assert error["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    schemes = document["components"]["securitySchemes"]
    assert schemes["jeton"] == {"type": "http", "scheme": "bearer", "description": schemes["jeton"]["description"]}
    assert schemes["session"]["in"] == "cookie"
    assert document["security"] == [{"jeton": []}, {"session": []}]
    # Request bodies refuse unknown fields, as the services do.
    for name in ("HouseholdIn", "RequestDraftIn", "StartIn", "DecisionIn", "TokenIn"):
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name
