"""Schemathesis (v4) against the API in-process: no server error, no response outside its schema.

Every operation of the OpenAPI document is one test, with generated requests (schema
examples, boundary values and fuzzing, valid and invalid), deterministic and bounded,
sent in-process to the WSGI app. The document is loaded at collection (one test per
operation) from an app holding the API only, and the test checks that the real app
serves the same document: schemathesis' fixture-based loader, which would load it from
the test app, does not run under pytest 9 (it sets ``Node._nodeid``). So that
the requests reach past "not found", ids in the path (and top-level ``*_id`` fields of
bodies) are replaced, for two cases out of three, by ids of real objects of the Loire,
and the role making the request varies; both choices depend only on the case, so a
failure replays identically.
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from asll.extensions import db
from asll.models import OrganisationKind, Role
from asll.services import api_tokens, decisions, requests
from asll.tenancy import tenant_context
from tests.api.conftest import ApiTestPlugin, plugin_enabled
from tests.core.workflow_support import DIAGNOSTIC
from tests.factories import build_tenant

MAX_EXAMPLES = 30
CONFIG = {
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                   "with-security-parameters": False},
}
ROLES = (Role.DEPT_ADMIN, Role.DEPT_ADMIN, Role.DEPT_AGENT, Role.COMMISSION_SECRETARY, Role.OPERATOR_WORKER,
         Role.PRESCRIBER, Role.AUDITOR)


class Fuzz:
    """Real objects of the Loire to aim at, and a token per role."""

    def __init__(self, app, loire, ids: dict[str, list[int]]):
        self.app, self.loire, self.ids = app, loire, ids
        self.tokens: dict[Role, str] = {}

    @staticmethod
    def _seed(case) -> int:
        return zlib.crc32(repr((case.operation.label, case.path_parameters, case.query, case.body)).encode())

    def aim(self, case) -> None:
        seed = self._seed(case)
        if seed % 3 == 0:
            return  # keep the generated ids: unknown objects must give a clean 404
        for name in list(case.path_parameters or {}):
            if name in self.ids:
                case.path_parameters[name] = self.ids[name][seed % len(self.ids[name])]
        if isinstance(case.body, dict):
            for name in list(case.body):
                if name in self.ids and isinstance(case.body[name], int) and not isinstance(case.body[name], bool):
                    case.body[name] = self.ids[name][seed % len(self.ids[name])]

    def headers(self, case) -> dict[str, str]:
        role = ROLES[(self._seed(case) // 3) % len(ROLES)]
        if role not in self.tokens:
            with self.app.app_context():
                _token, self.tokens[role] = api_tokens.create_token(self.loire.actor(role),
                                                                    {"label": "schemathesis"})
                db.session.remove()
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def fuzz(app):
    """The Loire alone (the other tenant is the isolation tests' business), with a case at every stage."""
    with app.app_context():
        loire = build_tenant("42", "Loire", "loire")
        db.session.remove()
    with plugin_enabled(app, loire.tenant.id):
        with app.app_context():
            loire.add_document()
            with tenant_context(loire.tenant.id):
                prescriber, secretary = loire.actor(Role.PRESCRIBER), loire.actor(Role.COMMISSION_SECRETARY)
                draft = requests.save_draft(prescriber, {"household_id": loire.household.id,
                                                         "measure_type": ApiTestPlugin.ACCES})
                ready = requests.save_draft(prescriber, {
                    "household_id": loire.household.id, "measure_type": ApiTestPlugin.ACCES,
                    "diagnostic": DIAGNOSTIC, "consent_given_by": "Léa Martin", "consent_date": "2026-03-01"})
                requests.submit(prescriber, ready.id)
                session = decisions.create_session(secretary, {"commission_code": ApiTestPlugin.COMMISSION,
                                                               "session_date": "2026-03-10"})
                decisions.build_agenda(secretary, session.id)
                token, _secret = api_tokens.create_token(loire.actor(Role.DEPT_ADMIN), {"label": "à révoquer"})
            ids = {
                "household_id": [loire.household.id],
                "request_id": [loire.request.id, draft.id, ready.id],
                "measure_id": [loire.measure.id],
                "session_id": [session.id],
                "document_id": [loire.document.id],
                "token_id": [token.id],
                "operator_id": [loire.orgs[OrganisationKind.OPERATOR].id],
                "landlord_id": [loire.orgs[OrganisationKind.LANDLORD].id],
            }
            db.session.remove()
        yield Fuzz(app, loire, ids)  # outside the app context: the requests push their own


def _api_only_app() -> Flask:
    """An app with nothing but the API: enough to serve the OpenAPI document at collection, no database."""
    from asll import api

    bare = Flask("asll")
    bare.config["SECRET_KEY"] = "openapi"
    api.init_app(bare)
    return bare


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _api_only_app(),
                                        config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def served_document(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document == schema.raw_schema, "the app serves another document than the one tested"
    return document


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one Loire per operation, on purpose
def test_no_server_error_and_responses_match_their_schema(case, app, fuzz, served_document):
    fuzz.aim(case)
    case.call_and_validate(app=app, headers=fuzz.headers(case),
                           checks=[not_a_server_error, response_schema_conformance])
