"""Every table, every plugin: the access right finds each plugin's rows, anonymisation leaves no
name, birth date, street or free text anywhere, and the yearly statistics do not move.

The four départements' demo cases are played through the services (``asll demo-data``), each
household given a second member, birth dates, an address, a free text naming a relative and an
attachment; together they touch every table of every plugin (checked). The clock is fixed; the
audit trail is purged as its retention says (entries older than 12 months) before the search.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import types

import pytest
import sqlalchemy as sa
import time_machine

from asll.extensions import db
from asll.models import ArchiveEntry, Household, HouseholdMember, Measure, Request, Role, Tenant, User
from asll.plugins.contract import HouseholdFile, PersonalData
from asll.services import audit, demo, documents, requests, statistics
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.rgpd import audit_retention, data, retention, rights
from asll.services.users import memberships_of
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import hookimpl
from tests.conftest import PARIS
from tests.factories import MINIMAL_PDF
from tests.rgpd.conftest import every_date, every_text, run_retention_task, where_found

DEMO_AUDITOR = "auditeur.{code}@demo-asll.fr"
EXPECTED_PLUGIN_TABLES = {"loire": {"loire_aml_dwelling"}, "orne": {"orne_measure_record", "orne_measure_domain"},
                          "moselle": {"moselle_fsl_aid", "moselle_rent_arrears_follow_up"}, "seine_maritime": set()}
# Kept by design (services/rgpd/anonymise.py): what the statistics count, and the platform's own labels.
KEPT_COLUMNS = {"household.sector", "household.resources_kind", "request.origin", "obligation.label",
                "orne_measure_record.circonscription"}
FILE_TABLES = ("household", "household_member", "support_measure", "request", "decision", "measure",
               "measure_event", "document", "loire_aml_dwelling", "orne_measure_record", "orne_measure_domain",
               "moselle_fsl_aid", "moselle_rent_arrears_follow_up")


def test_every_plugin_table_with_a_household_or_measure_key_is_declared_by_both_hooks(app, app_ctx):
    """A plugin that adds such a table without declaring it in asll_personal_data and
    asll_anonymise_personal_data makes this test fail (and the access and anonymisation refuse)."""
    registry = plugin_service.registry()
    to_cover = data.plugin_tables_to_cover(registry.plugin_names)
    assert to_cover == EXPECTED_PLUGIN_TABLES  # a new plugin table shows up here first
    file = HouseholdFile(id=1, reference="M-TEST", request_ids=(1,), measure_ids=(1,))
    with unscoped():
        tenant = Tenant(code="99", name="Essai")
        db.session.add(tenant)
        db.session.commit()
    with tenant_context(tenant.id):
        for name in registry.plugin_names:
            plugin = registry.pm.get_plugin(name)
            info = plugin_service.registry().infos[name]
            tenant_info = plugin_service.tenant_info(tenant.id)
            declared = getattr(plugin, "asll_personal_data", lambda **_: [])(tenant=tenant_info, household=file)
            assert all(isinstance(item, PersonalData) for item in declared), info.name
            assert {item.table for item in declared} == to_cover[name], name
            handled = getattr(plugin, "asll_anonymise_personal_data", lambda **_: [])(
                tenant=tenant_info, household=file, erase=False)
            assert set(handled) == to_cover[name], name


def forgetful_plugin() -> types.ModuleType:
    """A plugin module of Moselle's package (so its two tables are its own) that declares only one of them."""
    from asll.toolkit import PluginInfo

    module = types.ModuleType("asll_moselle.forgetful")
    module.asll_plugin_info = hookimpl(lambda: PluginInfo(name="forgetful", label="Oublieux", departement_code="98",
                                                          departement_name="Essai"))
    module.asll_personal_data = hookimpl(lambda tenant, household: [PersonalData("moselle_fsl_aid", "Aides")])
    module.asll_anonymise_personal_data = hookimpl(lambda tenant, household, erase: ["moselle_fsl_aid"])
    return module


def test_a_plugin_that_forgets_a_table_is_refused_with_nothing_exported_or_changed(app, app_ctx, world):
    registry = plugin_service.registry()
    registry.register(forgetful_plugin(), "forgetful")
    try:
        plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, "forgetful", True)
        auditor = world.loire.actor(Role.AUDITOR)
        with tenant_context(world.loire.tenant.id):
            with pytest.raises(data.UncoveredPluginData) as refused:
                rights.access(auditor, world.loire.household.id)
            assert refused.value.message == (
                "Le plugin « forgetful » ne déclare pas, par son crochet asll_personal_data, les données "
                "personnelles de ses tables : moselle_rent_arrears_follow_up. Rien n'a été fait ; signalez-le à "
                "l'équipe de la plateforme.")
            plan = retention.plan(world.loire.tenant.id, dt.date(2030, 1, 1))
            assert plan.files == [] and plan.problems and "moselle_rent_arrears_follow_up" in plan.problems[0]
            assert db.session.get(HouseholdMember, world.loire.household.members[0].id).last_name == "Martin"
    finally:
        registry.unregister("forgetful")
        plugin_service._forget_cache()


# -- the four départements' demo, enriched --------------------------------------------------
@pytest.fixture
def demo_files(app, monkeypatch, tmp_path):
    """The demo of the four départements, on a clock fixed at 20 November 2026, with personal data."""
    saved_uploads = app.config["UPLOAD_PATH"]
    app.config["UPLOAD_PATH"] = str(tmp_path / "uploads")
    counter = itertools.count(1)
    original = requests.create_household
    attached: list[int] = []

    def enriched(actor, given):
        n = next(counter)
        members = [dict(m, birth_date=m.get("birth_date") or f"19{50 + n % 40:02d}-0{1 + n % 9}-{10 + n % 18}")
                   for m in given["members"]]
        members.append({"last_name": f"Zéphyrin{n}", "first_name": "Octave", "birth_date": f"{1940 + n}-12-0{1 + n % 9}",
                        "relationship_to_reference": "frère"})
        return original(actor, {**given, "members": members, "address": f"{n} rue des Tanneurs",
                                "postcode": "57000", "city": "Villeneuve-sur-Test",
                                "family_situation": f"Vit avec son frère Paul DUPONTEL{n} né le 03/04/1990"})

    monkeypatch.setattr(requests, "create_household", enriched)
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, 0, tzinfo=PARIS), tick=False) as traveller:
        with app.app_context():
            demo.load_demo_data()
            results = demo.load_demo_cases()
            assert all(not errors for _played, errors in results.values()), results
            with unscoped():
                tenants = {t.code: t.id for t in db.session.scalars(sa.select(Tenant))}
            for code, tenant_id in tenants.items():
                with tenant_context(tenant_id):
                    actor = demo._demo_actor(tenant_id)
                    for request_id, name in db.session.execute(
                            sa.select(Request.id, HouseholdMember.last_name)
                            .join(HouseholdMember, sa.and_(HouseholdMember.household_id == Request.household_id,
                                                           HouseholdMember.is_reference))
                            .order_by(Request.id)).all():
                        attached.append(documents.attach(actor, request_id=request_id,
                                                         filename=f"Avis d'imposition {name}.pdf",
                                                         stream=io.BytesIO(MINIMAL_PDF),
                                                         content_type="application/pdf").id)
            db.session.remove()
        yield types.SimpleNamespace(tenants=tenants, traveller=traveller, attached=attached,
                                    uploads=tmp_path / "uploads")
    app.config["UPLOAD_PATH"] = saved_uploads


def _auditor(code: str, tenant_id: int) -> Actor:
    user = db.session.scalar(sa.select(User).where(User.email == DEMO_AUDITOR.format(code=code)))
    return Actor.for_user(user, memberships_of(user.id), tenant_id)


def _rows_about(table: sa.Table, household_id: int, measure_ids: list[int]) -> set[int]:
    """The ids of a plugin table's rows about the household, found from the table's own foreign keys."""
    clauses = []
    for fk in table.foreign_keys:
        if fk.column.table.name == "household":
            clauses.append(fk.parent == household_id)
        elif fk.column.table.name == "measure":
            clauses.append(fk.parent.in_(measure_ids))
    return set(db.session.scalars(sa.select(table.c.id).where(sa.or_(*clauses))))


def _free_texts() -> set[str]:
    """Every sentence-like string (a space, 12 characters or more) that only the files' tables hold.

    Kept columns aside, and the platform's own words a file may repeat (an organisation's name
    chosen as the hand-over, an obligation's label): those are not the household's texts.
    """
    found, elsewhere = set(), []
    for place, values in every_text(exclude_tables=("audit_event",)).items():
        table, _column = place.split(".", 1)
        if table in FILE_TABLES and place not in KEPT_COLUMNS:
            found.update(v for v in values if " " in v.strip() and len(v) >= 12)
        elif table not in FILE_TABLES:
            elsewhere.extend(value.lower() for value in values)
    return {text for text in found if not any(text.lower() in value for value in elsewhere)}


def _statistics(tenants: dict[str, int], years) -> dict:
    found = {}
    for code, tenant_id in tenants.items():
        with tenant_context(tenant_id):
            for year in years:
                found[(code, year)] = statistics.tenant_tables(tenant_id, year)
    return found


def test_the_access_export_has_every_plugin_table_and_anonymisation_leaves_no_personal_data(app, demo_files,
                                                                                            maintenance_db,
                                                                                            checkpoints):
    touched: set[str] = set()
    with app.app_context():
        with unscoped():
            names = set(db.session.scalars(sa.select(HouseholdMember.last_name)))
            births = set(db.session.scalars(sa.select(HouseholdMember.birth_date)))
        assert len(births) > 20 and None not in births and len(names) > 40
        for code, tenant_id in demo_files.tenants.items():
            with tenant_context(tenant_id):
                auditor = _auditor(code, tenant_id)
                for household in db.session.scalars(sa.select(Household).order_by(Household.id)).all():
                    measure_ids = list(db.session.scalars(sa.select(Measure.id).where(
                        Measure.household_id == household.id)))
                    export = rights.access(auditor, household.id)
                    sections = {s["table"]: s for s in export["sections"]}
                    assert {"household", "household_member", "request", "document"} <= set(sections)
                    assert {m["last_name"] for m in sections["household_member"]["lignes"]} <= names
                    for plugin in plugin_service.enabled_plugins(tenant_id):
                        for table_name in EXPECTED_PLUGIN_TABLES[plugin]:
                            expected = _rows_about(db.metadata.tables[table_name], household.id, measure_ids)
                            assert {row["id"] for row in sections[table_name]["lignes"]} == expected, table_name
                            if expected:
                                touched.add(table_name)
        assert touched == set().union(*EXPECTED_PLUGIN_TABLES.values())  # every plugin table held rows

        free_texts = _free_texts()
        assert any("DUPONTEL" in t for t in free_texts) and len(free_texts) > 50
        years = (2025, 2026)
        demo_files.traveller.move_to(dt.datetime(2031, 1, 15, 10, 0, tzinfo=PARIS))
        before = _statistics(demo_files.tenants, years)
        run_retention_task(app)
        with unscoped():
            left = db.session.scalar(sa.select(sa.func.count(HouseholdMember.id)).where(
                HouseholdMember.last_name != "Anonymisé"))
        assert left == 0
        assert _statistics(demo_files.tenants, years) == before
        # The audit trail's entries of 2026 (which named people when they were created) are purged too.
        with maintenance_db() as connection:
            purged = audit_retention.purge(connection)
        audit_retention.record_purges(purged)
        assert len(purged) == len(demo_files.tenants) + 1 and audit.verify_all().problems == []
        # Nothing personal anywhere but in the intermediate archive.
        outside = ("rgpd_archive_entry",)
        texts = every_text(exclude_tables=outside)
        name_hits = [(n, p) for n in sorted(names - {"Anonymisé"}) for p, values in texts.items()
                     if any(re.search(rf"\b{re.escape(n)}\b", v, re.IGNORECASE) for v in values)]
        assert name_hits == []
        assert where_found(["rue des Tanneurs", "Villeneuve-sur-Test", "DUPONTEL", "Zéphyrin"], texts) == []
        assert where_found(sorted(free_texts), texts) == [], where_found(sorted(free_texts), texts)
        assert where_found(sorted(b.isoformat() for b in births), texts) == []
        assert not [(p, d) for p, dates in every_date(exclude_tables=outside).items() for d in dates if d in births]
        assert [p for p in demo_files.uploads.rglob("*") if p.is_file()] == []
        with unscoped():
            identities = list(db.session.scalars(sa.select(ArchiveEntry.identity)))
        upper = {n.upper() for n in names}
        assert identities and all(identity.split()[0] in upper for identity in identities)  # the archive kept them
        db.session.remove()

    # Once the archive's legal period is over, the identities it kept go too.
    demo_files.traveller.move_to(dt.datetime(2042, 1, 20, 10, 0, tzinfo=PARIS))
    with app.app_context():
        run_retention_task(app)
        texts = every_text()
        assert [(n, p) for n in sorted(names - {"Anonymisé"}) for p, values in texts.items()
                if any(re.search(rf"\b{re.escape(n)}\b", v, re.IGNORECASE) for v in values)] == []
        db.session.remove()
