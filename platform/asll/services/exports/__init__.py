"""Exports of what a user may see, and yearly activity reports, produced by a Celery worker.

A user asks for an export (dataset, filters, columns, format, pseudonymised or not): the
job row stores *who* asked (user id, tenant id) and *what* (validated filters and columns),
never a visibility. The worker rebuilds the user's :class:`Actor` from their memberships
at run time and selects rows through the same criteria as every list of the platform
(:mod:`asll.services.access`), so filters can only narrow what the user sees.

Rows are streamed (``yield_per``: a server-side cursor on PostgreSQL) into the file
(CSV: UTF-8 with BOM and ``;`` as French spreadsheets expect; XLSX: openpyxl's
write-only mode), so memory stays flat whatever the size. Progress is written to the job
row on a separate connection while the rows stream. The file is kept under
``<EXPORT_PATH>/<tenant>/<uuid>.<ext>`` for ``EXPORT_RETENTION_HOURS`` (default 72 h),
the user is told by email, and a download checks the user's rights again (owner, still a
member, not fewer roles or organisations than when the file was produced). Asking,
producing, downloading and expiring are audited.

The pseudonymised variant, for statistics partners, has no name, address, birth date or
free text; households, measures and requests are designated by stable pseudonyms: an
HMAC-SHA256 of the object's id with a secret of the tenant (``export_secret`` table), so
the same household keeps the same pseudonym across exports without being identifiable.
Plugin columns (``asll_export_columns``) are left out of it unless they declare
``personal = False``.

The package, one module per part (see ARCHITECTURE.md): :mod:`.columns` (what each dataset
offers), :mod:`.query` (the SELECT and the pseudonyms), :mod:`.writers` (CSV, XLSX),
:mod:`.storage` (the files), :mod:`.reports` (the yearly report), :mod:`.jobs` (a job's
life: request, claim and run, download, sweep). Callers import the package's names below.
"""

from __future__ import annotations

from asll.services.exports.columns import (  # noqa: F401  (the package's names)
    ColumnDef,
    DATASETS,
    age_bracket,
    columns_for,
)
from asll.services.exports.query import (  # noqa: F401  (the package's names)
    ExportPlan,
    YIELD_PER,
    count_rows,
    plan_for,
    pseudonym,
    stream_rows,
    tenant_secret,
)
from asll.services.exports.writers import (  # noqa: F401  (the package's names)
    csv_cell,
    write_csv,
    write_xlsx,
)
from asll.services.exports.storage import (  # noqa: F401  (the package's names)
    CONTENT_TYPES,
    _run_storage,
    export_root,
    retention,
)
from asll.services.exports.reports import (  # noqa: F401  (the package's names)
    DEFINITIONS,
    render_report_pdf,
    report_context,
    write_report_xlsx,
)
from asll.services.exports.jobs import (  # noqa: F401  (the package's names)
    BROKER_DOWN,
    ExportExpired,
    ExportRequestSchema,
    FORMATS,
    FiltersSchema,
    JOB_PATH,
    LeaseLost,
    PROGRESS_EVERY_ROWS,
    PROGRESS_EVERY_SECONDS,
    Recovery,
    STALLED_MESSAGE,
    STATUS_VALUES,
    SweepResult,
    TASK_NAME,
    TECHNICAL_ERROR,
    actor_for_job,
    claim,
    cleanup_expired,
    dispatch,
    fail_stalled,
    form_choices,
    get_job,
    job_status,
    job_url,
    lease,
    list_jobs,
    max_attempts,
    notify_ready,
    open_file,
    recover,
    request_annual_report,
    request_export,
    run_job,
    send_mail,
    send_to_worker,
    stall_limit,
    sweep,
    tenant_ids,
)
