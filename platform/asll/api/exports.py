"""Exports: ask for one (produced by a worker), follow its job.

The file itself is downloaded from the site (``/rapports/exports/<id>/fichier``), where
the rights are checked again. When the task broker cannot be reached, the request answers
a French 503 at once and the job is recorded as failed (nothing waits for ever).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from asll.api.blueprint import ID, bp
from asll.api.common import actor
from asll.api.schemas import complete, derived
from asll.services import exports

TAGS = ["Exports"]

ExportIn = derived(exports.ExportRequestSchema, "ExportIn")


@complete
class ExportJobOut(ma.Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "pending, running, done, failed ou expired."})
    status_label = fields.String()
    done = fields.Integer(metadata={"description": "Lignes écrites."})
    total = fields.Integer(metadata={"description": "Lignes à écrire."})
    percent = fields.Integer()
    rows = fields.Integer(allow_none=True)
    files = fields.List(fields.String(), metadata={"description": "Formats produits (csv, xlsx, pdf)."})
    error = fields.String()
    finished = fields.Boolean()


@bp.route("/exports", methods=["POST"], tags=TAGS)
@bp.arguments(ExportIn)
@bp.response(202, ExportJobOut)
@bp.doc(summary="Demander un export",
        description="Un export des données que vos rôles vous donnent à voir, produit en arrière-plan ; suivez-le "
                    "par GET /api/v1/exports/{export_id}. Réponse 503 si le service de production ne répond pas.")
def request_export(data):
    """Ask for an export."""
    return exports.job_status(exports.request_export(actor(), data))


@bp.route(f"/exports/<{ID}:export_id>", methods=["GET"], tags=TAGS)
@bp.response(200, ExportJobOut)
@bp.doc(summary="Suivre un export", description="État et avancement d'un de vos exports.")
def get_export(export_id: int):
    """Read one of the user's export jobs."""
    return exports.job_status(exports.get_job(actor(), export_id))
