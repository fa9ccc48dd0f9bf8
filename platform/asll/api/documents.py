"""Documents: list those of a request, measure or session; generate the PDFs; download a file."""

from __future__ import annotations


from asll.api.blueprint import ID, bp
from asll.api.common import actor
from asll.api.schemas import DocumentIn, DocumentListArgs, DocumentOut
from asll.services import documents
from asll.services.documents import ALLOWED_TYPES

TAGS = ["Documents"]
BINARY = {"type": "string", "format": "binary"}


@bp.route("/documents", methods=["GET"], tags=TAGS)
@bp.arguments(DocumentListArgs, location="query")
@bp.response(200, DocumentOut(many=True))
@bp.doc(summary="Lister les documents",
        description="Les documents d'une demande (request_id), d'une mesure (measure_id) ou d'une séance "
                    "(session_id) : un seul de ces paramètres.")
def list_documents(args):
    """Documents of one request, measure or session."""
    return documents.list_documents(actor(), request_id=args["request_id"], measure_id=args["measure_id"],
                                    session_id=args["session_id"])


@bp.route("/documents", methods=["POST"], tags=TAGS)
@bp.arguments(DocumentIn)
@bp.response(201, DocumentOut(many=True))
@bp.doc(summary="Générer un document PDF",
        description="decision_letter : une lettre par destinataire (ménage, service instructeur, opérateur, "
                    "bailleur s'il a été accepté) ; contract, prolongation_request, bilan : pour une mesure ; "
                    "minutes : procès-verbal d'une séance tenue.")
def generate_document(data):
    """Generate PDF documents."""
    kind, current = data["kind"], actor()
    if kind == "decision_letter":
        return documents.decision_letters(current, data["decision_id"])
    if kind == "minutes":
        return [documents.minutes(current, data["session_id"])]
    generate = {"contract": documents.contract, "prolongation_request": documents.prolongation_request,
                "bilan": documents.bilan}[kind]
    return [generate(current, data["measure_id"])]


def _download_doc(view):
    view = bp.response(200, BINARY, content_type=ALLOWED_TYPES[0].mime,
                       description="Le fichier (PDF, JPEG, PNG, ODT ou DOCX).")(view)
    for file_type in ALLOWED_TYPES[1:]:
        view = bp.alt_response(200, schema=BINARY, content_type=file_type.mime, success=True)(view)
    return view


@bp.route(f"/documents/<{ID}:document_id>/content", methods=["GET"], tags=TAGS)
@_download_doc
@bp.doc(summary="Télécharger un document", description="La consultation est inscrite au journal d'audit.")
def download_document(document_id: int):
    """Download a document's file."""
    _document, stored = documents.open_document(actor(), document_id)
    return stored.response()
