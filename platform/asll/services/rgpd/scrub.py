"""The explicit rule by which anonymisation scrubs the JSON a file keeps (``extra``, event ``data``).

A file's JSON mixes what the statistics count (codes chosen in a list, yes/no, numbers, dates) with
what a person wrote (a reason, a note, a name). The rule keeps a value only when its form was
declared as something other than free text:

* a string is kept when it is one of the *codes* a form offers as choices (any ``OneOf`` of the
  core's transition forms and of the enabled plugins' household, request and transition fields),
  or a status, reason, measure type or commission code of the platform;
* a string under a key declared as a date or a number (``Date``, ``Integer``, ``Decimal``...) is
  kept when it reads as one (JSON keeps dates and amounts as text);
* booleans, numbers and empty values are kept; every other string becomes ``None``.

So a plugin's free-text field (``String`` without choices) is scrubbed whatever its name, and a
new plugin needs nothing more than honest field declarations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow import validate

from asll.domain.machine import END_REASONS, TRANSFER_REASONS, TRANSITIONS
from asll.models import DecisionOutcome, HousingStatus, MeasureStatus, RequestStatus
from asll.services.schemas import TRANSITION_SCHEMAS

STRUCTURED_FIELDS = (mf.Date, mf.DateTime, mf.Integer, mf.Decimal, mf.Float, mf.Number, mf.Boolean)
_NUMBER = re.compile(r"^-?\d{1,12}([.,]\d{1,6})?$")
# Keys the core itself writes in a measure's ``extra`` (services/measures.py), with a number or a code.
CORE_STRUCTURED_KEYS = frozenset({"suspended_days"})


@dataclass
class KeepRule:
    """The codes and the date/number keys of a tenant's forms (see the module docstring)."""

    codes: set[str] = field(default_factory=set)
    structured_keys: set[str] = field(default_factory=lambda: set(CORE_STRUCTURED_KEYS))

    def learn_fields(self, declared: Mapping[str, mf.Field]) -> None:
        for name, declared_field in (declared or {}).items():
            self._learn(name, declared_field)

    def _learn(self, name: str, declared_field: mf.Field) -> None:
        for validator in _validators(declared_field):
            if isinstance(validator, validate.OneOf):
                self.codes.update(str(choice) for choice in validator.choices)
        if isinstance(declared_field, mf.Enum):
            self.codes.update(str(member.value) for member in declared_field.enum)
        if isinstance(declared_field, STRUCTURED_FIELDS):
            self.structured_keys.add(name)
        if isinstance(declared_field, mf.Nested):
            schema = declared_field.schema
            self.learn_fields(schema.fields if isinstance(schema, ma.Schema) else {})
        elif isinstance(declared_field, mf.List) and declared_field.inner is not None:
            self._learn(name, declared_field.inner)
        elif isinstance(declared_field, mf.Dict) and declared_field.value_field is not None:
            self._learn(name, declared_field.value_field)

    def learn_codes(self, codes: Iterable[Any]) -> None:
        self.codes.update(str(code) for code in codes if code)

    def scrub(self, value: Any, key: str = "") -> Any:
        """``value`` with every free text replaced by ``None`` (dicts and lists walked through)."""
        if isinstance(value, Mapping):
            return {k: self.scrub(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item, key) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        text = str(value)
        if text == "" or text in self.codes:
            return value
        if key in self.structured_keys and (_NUMBER.match(text) or _is_date(text)):
            return value
        return None


def _validators(declared_field: mf.Field) -> list:
    validators = declared_field.validators
    return list(validators) if isinstance(validators, list | tuple) else [validators]


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return len(text) == 10 or text[10] in "T "


def core_rule() -> KeepRule:
    """What the core's own forms and vocabularies declare (before any plugin's fields)."""
    rule = KeepRule()
    for schema in TRANSITION_SCHEMAS.values():
        rule.learn_fields(schema().fields)
    rule.learn_codes(END_REASONS)
    rule.learn_codes(TRANSFER_REASONS)
    rule.learn_codes(TRANSITIONS)
    for enum in (MeasureStatus, RequestStatus, DecisionOutcome, HousingStatus):
        rule.learn_codes(member.value for member in enum)
    return rule


def rule_for(tenant_id: int, measures: Iterable) -> KeepRule:
    """The rule of a tenant for a file: the core's, the tenant's codes, and the plugins' fields for its measures."""
    from asll.services import measures as measure_service
    from asll.services import plugins as plugin_service
    from asll.services import requests as request_service

    rule = core_rule()
    types = plugin_service.measure_types(tenant_id)
    rule.learn_codes(types)
    rule.learn_codes(plugin_service.commissions(tenant_id))
    rule.learn_codes(plugin_service.support_measures(tenant_id))
    rule.learn_fields(request_service.household_fields(tenant_id))
    for code in types:
        rule.learn_fields(request_service.request_fields(tenant_id, code))
    for measure in measures:
        for transition in (*TRANSITIONS, "grant"):
            rule.learn_fields(measure_service.transition_fields(tenant_id, measure, transition))
    return rule
