"""The yearly activity report: its context, its workbook and its PDF."""

from __future__ import annotations

from pathlib import Path

from flask import render_template

from asll.domain.calendar import today
from asll.plugins.contract import StatTable
from asll.services import statistics
from asll.services import plugins as plugin_service
from asll.services.exports.writers import _sheet_name, _xlsx_value


# -- the yearly report ----------------------------------------------------------------------
def report_context(tenant_id: int, year: int, tables: list[StatTable]) -> dict:
    tenant = plugin_service.tenant_info(tenant_id)
    return {
        "tenant": tenant,
        "year": year,
        "tables": tables,
        "charts": {t.key: statistics.svg_chart(t) for t in tables},
        "definitions": DEFINITIONS,
        "issued_on": today(),
    }


DEFINITIONS = (
    ("Mesure suivie", "Mesure en cours au moins un jour de l'année, de sa date de début (signature du contrat) "
                      "à sa date de fin (exclue), ou à sa fin prévue si elle est passée, ou à aujourd'hui."),
    ("Mesure nouvelle", "Mesure démarrée dans l'année."),
    ("Mois-mesures", "Pour chaque mesure, nombre de mois civils de l'année pendant lesquels elle a été en cours "
                     "au moins un jour, additionné sur toutes les mesures."),
    ("Ménages accompagnés", "Ménages distincts ayant au moins une mesure suivie dans l'année."),
    ("Durée moyenne", "Durée des mesures terminées dans l'année, de leur début à leur fin, en mois."),
    ("Taux de prolongation", "Mesures suivies prolongées au moins une fois, rapportées aux mesures suivies."),
    ("Échéances", "Obligations des mesures arrivées à échéance dans l'année : respectées si remplies au plus "
                  "tard à leur date, manquées sinon."),
)


def write_report_xlsx(path: Path, tenant_name: str, year: int, tables: list[StatTable]) -> None:
    """One sheet per table: title, note, header, rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    used: set[str] = set()
    bold, title_font = Font(bold=True), Font(bold=True, size=13)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_name(table.title, used))
        title = WriteOnlyCell(sheet, value=f"{table.title} – {tenant_name} – {year}")
        title.font = title_font
        sheet.append([title])
        if table.note:
            sheet.append([table.note])
        sheet.append([])
        header = []
        for label in table.columns:
            cell = WriteOnlyCell(sheet, value=label)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([_xlsx_value(sheet, v) for v in row])
    workbook.save(path)


def render_report_pdf(context: dict) -> bytes:
    import weasyprint
    from weasyprint.urls import URLFetcher

    class _NoExternalResources(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"ressource externe refusée : {url}")

    html = render_template("reports/annual_report_pdf.html", **context)
    return weasyprint.HTML(string=html, url_fetcher=_NoExternalResources()).write_pdf()
