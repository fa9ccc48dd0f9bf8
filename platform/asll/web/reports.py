"""Exports and statistics pages: ask for an export, follow its job, download it, the statistics
dashboard and the yearly activity report. Thin adapters over :mod:`asll.services.exports` and
:mod:`asll.services.statistics`: every right is checked there.

The job page shows a ``<progress>`` element refreshed by a small same-origin script (served
here, since the Content-Security-Policy forbids inline scripts) polling a JSON status URL;
without JavaScript the page refreshes itself and offers a reload link.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from asll.domain.calendar import today
from asll.models.exports import ExportKind
from asll.services import exports, statistics
from asll.services.errors import ServiceError, ValidationFailed
from asll.web.common import tenant_required
from asll.web.fields import flatten_errors

bp = Blueprint("reports", __name__, url_prefix="/rapports")

POLL_SCRIPT = """\
/* Refreshes the export progress bar from its JSON status (same origin), reloads when finished. */
(function () {
  "use strict";
  var box = document.querySelector("[data-export-status]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-export-status");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-export-text]");
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(poll, 5000); return; }
        if (state.total) { bar.max = state.total; bar.value = state.done; }
        bar.textContent = state.percent + " %";
        text.textContent = state.status_label + " – " + state.percent + " %";
        if (state.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
"""


@bp.app_template_filter("stat_number")
def stat_number(value) -> str:
    return statistics.format_number(value)


# -- forms ------------------------------------------------------------------------------
def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class ExportForm(FlaskForm):
    """What to export; the columns of each dataset are added per request (plugins add theirs)."""

    dataset = RadioField("Données à exporter", choices=_choices(exports.DATASETS.items()), default="measures",
                         validators=[InputRequired("Choisissez les données à exporter.")])
    file_format = RadioField("Format du fichier", choices=_choices(exports.FORMATS.items()), default="csv",
                             validators=[InputRequired("Choisissez le format.")])
    pseudonymised = BooleanField(
        "Export pseudonymisé (pour un partenaire statistique)",
        description="Sans nom, prénom, date de naissance, adresse, code postal, commune ni texte libre "
                    "(situation familiale, motif, réorientation) ; les dates n'y sont données qu'au mois "
                    "(03/2026). Il garde la tranche d'âge, le secteur, le statut d'occupation, la nature des "
                    "ressources, les types, états, durées et opérateurs ; ménages, demandes et mesures y sont "
                    "désignés par un pseudonyme stable propre au département.")
    date_from = DateField("Du", format="%Y-%m-%d", validators=[Optional()])
    date_to = DateField("Au", format="%Y-%m-%d", validators=[Optional()])
    measure_type = SelectField("Type de mesure", validators=[Optional()], validate_choice=False)
    kind = SelectField("Nature de mesure", validators=[Optional()], validate_choice=False)
    status = SelectField("État", validators=[Optional()], validate_choice=False)
    operator_id = SelectField("Opérateur", validators=[Optional()], validate_choice=False)
    sector = SelectField("Secteur du ménage", validators=[Optional()], validate_choice=False)
    submit = SubmitField("Lancer l'export")


def _export_form(choices: dict) -> ExportForm:
    class _Form(ExportForm):
        pass

    for dataset, columns in choices["columns"].items():
        setattr(_Form, f"columns_{dataset}", SelectMultipleField(
            f"Colonnes – {exports.DATASETS[dataset]}", choices=_choices((c.key, c.label) for c in columns),
            default=[c.key for c in columns if c.default], validate_choice=False))
    form = _Form()
    blank = [("", "Tous")]
    form.measure_type.choices = _choices(blank + choices["measure_types"])
    form.kind.choices = _choices(blank + choices["kinds"])
    form.status.choices = _choices(blank + [(f"{dataset}:{value}", label)
                                            for dataset, values in choices["statuses"].items()
                                            for value, label in values])
    form.operator_id.choices = _choices(blank + [(str(i), name) for i, name in choices["operators"]])
    form.sector.choices = _choices(blank + [(s, s) for s in choices["sectors"]])
    return form


class ReportForm(FlaskForm):
    year = IntegerField("Année", validators=[InputRequired("Indiquez l'année."),
                                             NumberRange(statistics.MIN_YEAR, statistics.MAX_YEAR,
                                                         "Année invalide.")])
    submit = SubmitField("Produire le rapport annuel (XLSX et PDF)")


def _form_data(form: ExportForm) -> dict:
    dataset = form.dataset.data
    status = form.status.data or ""
    status_dataset, _, status_value = status.partition(":")
    filters = {
        "date_from": form.date_from.data.isoformat() if form.date_from.data else None,
        "date_to": form.date_to.data.isoformat() if form.date_to.data else None,
        "measure_type": form.measure_type.data or None,
        "kind": form.kind.data or None,
        "status": status_value if status_value and status_dataset == dataset else None,
        "operator_id": form.operator_id.data or None,
        "sector": form.sector.data or None,
    }
    field = getattr(form, f"columns_{dataset}", None)
    return {"dataset": dataset, "file_format": form.file_format.data, "pseudonymised": form.pseudonymised.data,
            "columns": list(field.data or []) if field is not None else None,
            "filters": {k: v for k, v in filters.items() if v is not None}}


# -- exports ----------------------------------------------------------------------------
@bp.route("/exports")
@tenant_required
def export_list():
    return render_template("reports/exports.html", jobs=exports.list_jobs(g.actor), ExportKind=ExportKind,
                           may_see_statistics=g.actor.has(*statistics.STATISTICS_ROLES))


@bp.route("/exports/nouveau", methods=["GET", "POST"])
@tenant_required
def export_new():
    choices = exports.form_choices(g.actor)
    form = _export_form(choices)
    errors: list[str] = []
    status = 422
    if form.validate_on_submit():
        try:
            job = exports.request_export(g.actor, _form_data(form))
        except ValidationFailed as exc:
            errors = [m for messages in flatten_errors(exc.fields).values() for m in messages]
        except ServiceError as exc:  # e.g. the broker is down (503): the form keeps the choices made
            errors, status = [exc.message], exc.status
        else:
            flash("Export demandé : il est en cours de production. Vous recevrez un courriel quand il sera prêt.",
                  "success")
            return redirect(url_for("reports.export_job", export_id=job.id))
    elif request.method == "POST":
        errors = [f"{getattr(form, name).label.text} : {' '.join(messages)}" for name, messages in form.errors.items()]
    status = status if errors else 200
    return render_template("reports/export_new.html", form=form, choices=choices, errors=errors,
                           datasets=exports.DATASETS), status


@bp.route("/exports/<int:export_id>")
@tenant_required
def export_job(export_id: int):
    job = exports.get_job(g.actor, export_id)
    return render_template("reports/export_job.html", job=job, state=exports.job_status(job), ExportKind=ExportKind,
                           datasets=exports.DATASETS, formats={**exports.FORMATS, "pdf": "Rapport PDF"})


@bp.route("/exports/<int:export_id>/etat")
@tenant_required
def export_status(export_id: int):
    response = jsonify(exports.job_status(exports.get_job(g.actor, export_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/exports/<int:export_id>/fichier")
@tenant_required
def export_download(export_id: int):
    """Download a finished export; the service checks the rights again and audits the download."""
    _job, stored, _filename, _type = exports.open_file(g.actor, export_id, request.args.get("format") or None)
    return stored.response()


@bp.route("/progression.js")
def progress_script():
    return Response(POLL_SCRIPT, mimetype="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


# -- statistics -------------------------------------------------------------------------
@bp.route("/statistiques")
@tenant_required
def statistics_dashboard():
    statistics.require_statistics_role(g.actor)
    year = request.args.get("annee") or str(today().year)
    try:
        year = statistics.check_year(year)
    except ValidationFailed:
        flash("Année invalide : l'année en cours est affichée.", "error")
        year = today().year
    tables = statistics.tables_for(g.actor, year)
    charts = {t.key: Markup(statistics.svg_chart(t)) for t in tables}  # built from escaped text only
    form = ReportForm(year=year)
    return render_template("reports/statistics.html", tables=tables, charts=charts, year=year, form=form,
                           years=list(range(today().year, today().year - 10, -1)),
                           definitions=exports.DEFINITIONS)


@bp.route("/rapport-annuel", methods=["POST"])
@tenant_required
def annual_report():
    form = ReportForm()
    if not form.validate_on_submit():
        flash("Indiquez une année valide pour le rapport annuel.", "error")
        return redirect(url_for("reports.statistics_dashboard"))
    job = exports.request_annual_report(g.actor, form.year.data)  # broker down: the French 503 page
    flash(f"Rapport d'activité {job.year} demandé : vous recevrez un courriel quand il sera prêt.", "success")
    return redirect(url_for("reports.export_job", export_id=job.id))
