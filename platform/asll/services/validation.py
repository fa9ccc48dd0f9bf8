"""Running marshmallow schemas and turning their errors into :class:`ValidationFailed`."""

from __future__ import annotations

import marshmallow as ma

from asll.services.errors import ValidationFailed


def load(schema: ma.Schema, data, **kwargs):
    try:
        return schema.load(data or {}, **kwargs)
    except ma.ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
