"""Benchmark: export 100,000 measures to CSV and XLSX through the export job, print rows,
seconds and peak memory, and check both files against the database.

    .venv/bin/python bench/export_bench.py                       # SQLite in a temporary folder
    .venv/bin/python bench/export_bench.py --rows 20000          # another size (memory should not follow)
    .venv/bin/python bench/export_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

With ``--database-url`` a fresh database is created on that server and dropped at the end.
The rows are bulk-inserted directly (households, reference persons, requests, measures);
the export itself runs exactly as in the worker (:func:`asll.services.exports.run_job`),
as a département admin who sees every measure of the tenant.

Each format runs twice: once for the time and the peak RSS (sampled from /proc every 20 ms,
reported as the growth over the RSS before the run), once under tracemalloc for the peak of
Python allocations (tracemalloc slows the run down, hence the separate pass).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

CHUNK = 5000


def rss_kib() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Peak resident memory during a block, sampled in a thread."""

    def __init__(self, interval: float = 0.02):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def __enter__(self):
        self.start = rss_kib()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib())


def build_data(rows: int):
    """Tenant, operator, admin user, and ``rows`` households + members + requests + measures."""
    from asll.extensions import db
    from asll.models import Household, HouseholdMember, Measure, Request, Role
    from asll.plugins.contract import OrganisationSpec
    from asll.services import plugins, tenants, users
    from asll.services.actor import Actor
    from asll.tenancy import tenant_context, unscoped

    system = Actor.system()
    tenant = tenants.create_tenant(system, "42", "Loire")
    db.session.commit()
    plugins.set_enabled(system, tenant.id, "loire", True)
    with tenant_context(tenant.id):
        operator = tenants.create_organisation(Actor.system(tenant.id), OrganisationSpec(
            name="AGASEF", kind="operator", sectors=("Ondaine",), capacity=30))
        prescriber = tenants.create_organisation(Actor.system(tenant.id), OrganisationSpec(
            name="Service social", kind="prescriber"))
        admin = users.create_user(system, {"email": "admin.42@bench.asll.fr", "full_name": "Admin Loire",
                                           "password": "mot-de-passe-de-bench"})
        users.add_membership(Actor.system(tenant.id), admin, tenant.id, Role.DEPT_ADMIN)
        db.session.commit()
        operator_id, prescriber_id, tenant_id = operator.id, prescriber.id, tenant.id

    kinds = (("loire.acces", "acces"), ("loire.maintien", "maintien"), ("loire.diagnostic", "diagnostic"))
    statuses = ("operator_assigned", "started", "running", "ended", "closed")
    first_day = date(2024, 1, 1)
    with unscoped():
        connection = db.session.connection()
        for start in range(0, rows, CHUNK):
            numbers = range(start + 1, min(rows, start + CHUNK) + 1)
            connection.execute(sa.insert(Household), [
                dict(id=n, tenant_id=tenant_id, reference=f"M-42-2024-{n:06d}", address=f"{n} rue de la Paix",
                     postcode="42000", city="Saint-Étienne", sector=("Ondaine", "Forez", "Roannais")[n % 3],
                     housing_status=("public_tenant", "private_tenant", "hosted")[n % 3],
                     monthly_resources=Decimal(500 + n % 900) + Decimal("0.50"), resources_kind="RSA",
                     family_situation="Personne seule", landlord_consent=False, extra={})
                for n in numbers])
            connection.execute(sa.insert(HouseholdMember), [
                dict(id=n, tenant_id=tenant_id, household_id=n, last_name=f"Nom{n}", first_name="Camille",
                     birth_date=date(1950 + n % 50, 1 + n % 12, 1 + n % 28), relationship_to_reference="",
                     is_reference=True, socio_professional_status="")
                for n in numbers])
            connection.execute(sa.insert(Request), [
                dict(id=n, tenant_id=tenant_id, reference=f"D-42-2024-{n:06d}", household_id=n,
                     measure_type=kinds[n % 3][0], status="decided", origin="travailleur_social",
                     commission_code="loire.clu", prescriber_organisation_id=prescriber_id, diagnostic={},
                     consent_given_by="Le ménage", extra={})
                for n in numbers])
            connection.execute(sa.insert(Measure), [
                dict(id=n, tenant_id=tenant_id, reference=f"A-42-2024-{n:06d}", household_id=n, request_id=n,
                     measure_type=kinds[n % 3][0], kind=kinds[n % 3][1], status=statuses[n % 5],
                     operator_id=operator_id, decision_date=first_day + timedelta(days=n % 300), granted_months=6,
                     start_date=first_day + timedelta(days=n % 300 + 10),
                     planned_end_date=first_day + timedelta(days=n % 300 + 192),
                     end_date=first_day + timedelta(days=n % 300 + 180) if statuses[n % 5] in ("ended", "closed")
                     else None,
                     end_reason="term" if statuses[n % 5] in ("ended", "closed") else "",
                     reinforced=n % 7 == 0, prolongation_count=n % 2, prolonged_months=6 * (n % 2),
                     hand_over_to="", extra={})
                for n in numbers])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in ("household", "household_member", "request", "measure"):
                db.session.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            db.session.commit()
    # As after any bulk load: fresh planner statistics (autovacuum would do it a little later).
    # Without them PostgreSQL takes the tenant filter for selective and plans the reference
    # person's lookup as a scan of every member, once per row.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    return tenant_id, admin.id


def run_export(tenant_id: int, user_id: int, file_format: str, *, trace: bool):
    from asll.extensions import db
    from asll.models import User
    from asll.services import exports
    from asll.services.actor import Actor
    from asll.services.users import memberships_of
    from asll.tenancy import tenant_context

    with tenant_context(tenant_id):
        user = db.session.get(User, user_id)
        actor = Actor.for_user(user, memberships_of(user_id), tenant_id)
        job = exports.request_export(actor, {"dataset": "measures", "file_format": file_format},
                                     send_to_worker=False)  # the bench runs the job itself, as the worker would
        db.session.remove()
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        with RssSampler() as rss:
            state = exports.run_job(job.id)
        seconds = time.perf_counter() - began
        peak_python = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
        job = exports.get_job(actor, job.id)
        _, stored, _, _ = exports.open_file(actor, job.id, file_format)
        path = Path(tempfile.mkdtemp()) / f"export.{file_format}"  # a local copy to check and measure
        with stored.open() as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        columns = list(job.columns)
        db.session.remove()
    return state, seconds, rss, peak_python, path, columns


def check_file(tenant_id: int, path: Path, file_format: str, columns: list[str], rows: int) -> int:
    """Compare the file, row by row, with the measures read from the database (streamed)."""
    from asll.extensions import db
    from asll.models import Household, Measure
    from asll.services.exports import csv_cell
    from asll.tenancy import tenant_context

    assert columns[0] == "reference" and "start_date" in columns and "end_date" in columns
    start_index, end_index = columns.index("start_date"), columns.index("end_date")
    household_index = columns.index("household_reference")
    with tenant_context(tenant_id):
        expected = db.session.execute(
            sa.select(Measure.reference, Household.reference, Measure.start_date, Measure.end_date)
            .join(Household, Household.id == Measure.household_id).order_by(Measure.id)
            .execution_options(yield_per=5000))
        if file_format == "csv":
            handle = path.open(encoding="utf-8", newline="")
            assert handle.read(1) == "\ufeff", "no BOM"
            reader = csv.reader(handle, delimiter=";")
            header = next(reader)
            produced = reader
        else:
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True)
            sheet = workbook.worksheets[0]
            iterator = sheet.iter_rows(values_only=True)
            header = list(next(iterator))
            produced = iterator
        assert len(header) == len(columns), header
        count = 0
        for db_row, file_row in zip(expected, produced, strict=True):
            reference, household, start, end = db_row
            got = (file_row[0], file_row[household_index], file_row[start_index], file_row[end_index])
            if file_format == "csv":
                want = (reference, household, csv_cell(start), csv_cell(end))
            else:
                got = (got[0], got[1], got[2].date() if got[2] else None, got[3].date() if got[3] else None)
                want = (reference, household, start, end)
            assert got == want, f"row {count + 1}: {got} != {want}"
            count += 1
        if file_format == "xlsx":
            workbook.close()
        else:
            handle.close()
        db.session.remove()
    assert count == rows, (count, rows)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL (a fresh database is made)")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="asll-export-bench-"))
    os.environ["ASLL_INSTANCE_PATH"] = str(workdir)
    os.environ.setdefault("ASLL_ENV", "development")
    admin_engine, database_name = None, None
    if options.database_url:
        url = sa.engine.make_url(options.database_url)
        database_name = f"asll_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database_name}"'))
        database_url = url.set(database=database_name).render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    try:
        from flask_migrate import upgrade

        from asll.app import create_app
        from asll.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "EXPORT_PATH": str(workdir / "exports"),
                          "MAIL_FOLDER": str(workdir / "mail")})
        with app.app_context():
            upgrade(revision="heads")
            began = time.perf_counter()
            tenant_id, user_id = build_data(options.rows)
            db.session.remove()
            print(f"database: {db.engine.dialect.name}; {options.rows:,} measures bulk-inserted in "
                  f"{time.perf_counter() - began:.1f} s")
            for file_format in ("csv", "xlsx"):
                state, seconds, rss, _, path, columns = run_export(tenant_id, user_id, file_format, trace=False)
                assert state["status"] == "done" and state["rows"] == options.rows, state
                checked = check_file(tenant_id, path, file_format, columns, options.rows)
                _, traced_seconds, _, peak_python, _, _ = run_export(tenant_id, user_id, file_format, trace=True)
                print(f"{file_format.upper():>4}: {state['rows']:,} rows, {len(columns)} columns, "
                      f"{seconds:.1f} s ({state['rows'] / seconds:,.0f} rows/s), "
                      f"file {path.stat().st_size / 1e6:.1f} MB; peak RSS {rss.peak / 1024:.1f} MiB "
                      f"(+{(rss.peak - rss.start) / 1024:.1f} MiB during the run); "
                      f"tracemalloc peak {peak_python / 2**20:.1f} MiB (traced run {traced_seconds:.1f} s); "
                      f"checked {checked:,} rows against the database")
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)'))
            admin_engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)  # the SQLite file and the exported files (100 MB and more)


if __name__ == "__main__":
    sys.exit(main())
