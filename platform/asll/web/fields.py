"""Render marshmallow fields as HTML form fields, and read them back from a POST.

The core's transition schemas and the plugins' extra fields (request, household,
transition, settings) are marshmallow fields; the pages render them generically:

=====================================  ===========================================
marshmallow field                      HTML
=====================================  ===========================================
String                                 text input (textarea when it may exceed 300 characters)
String with a OneOf validator          select
Date                                   date input (ISO value, as marshmallow reads)
Boolean                                checkbox
Integer / Decimal / Float              number input (step 1 / 0.01 / any)
Enum                                   select
List(String(OneOf))                    group of checkboxes (fieldset)
Dict(values=String(OneOf))             one select per key (e.g. per circonscription)
Nested(Schema)                         fieldset of its own fields (``name.part``)
List(Nested(Schema))                   fieldset of numbered rows (``name.0.part``), the
                                       rows already filled plus blank ones
=====================================  ===========================================

A field's French label comes from ``metadata["label"]`` (plugins), then from the labels
the page passes (core fields), then from its name. ``metadata["description"]`` (or
``"help"``) becomes the hint under the field. Values are read back as the strings the
schema loads; an empty input is left out so the schema's default or "required" applies.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow import validate

TEXTAREA_OVER = 300


@dataclass
class FieldView:
    """One field as the templates render it (``macros.html``: ``render_field``)."""

    name: str
    id: str
    label: str
    widget: str
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    errors: list[str] = field(default_factory=list)
    hint: str = ""
    step: str = "1"
    keys: list[str] = field(default_factory=list)  # dict_select: one select per key
    blank_choice: str = "— Choisir —"
    children: list[FieldView] = field(default_factory=list)  # group: the nested object's fields
    rows: list[list[FieldView]] = field(default_factory=list)  # group_list: one row per item

    @property
    def describedby(self) -> str:
        ids = []
        if self.hint:
            ids.append(f"{self.id}-hint")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)

    def key_id(self, key: str) -> str:
        return f"{self.id}-{_slug(key)}"

    @property
    def anchor(self) -> str:
        """The id an error summary links to: the field itself, or the first box of a group."""
        if self.widget == "checkboxes":
            return f"{self.id}-0"
        if self.widget in ("dict_select", "dict_text") and self.keys:
            return self.key_id(self.keys[0])
        first = self.children[0] if self.children else (self.rows[0][0] if self.rows and self.rows[0] else None)
        if first is not None:
            return first.anchor
        return self.id


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "x"


def _humanise(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


BLANK_ROWS = 2  # blank rows offered after a list's filled ones (more after saving)


def _nested_values(prefix: str, value: Any) -> dict[str, Any]:
    """A nested object's stored values keyed by full name, as ``schema_views`` takes them."""
    return {f"{prefix}{k}": v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _one_of(f: mf.Field) -> validate.OneOf | None:
    validators = f.validators if isinstance(f.validators, list | tuple) else [f.validators]
    for v in validators:
        if isinstance(v, validate.OneOf):
            return v
    return None


def _max_length(f: mf.Field) -> int | None:
    for v in f.validators:
        if isinstance(v, validate.Length) and v.max is not None:
            return v.max
    return None


def _choices(one_of: validate.OneOf, labels: Mapping[str, str] | None) -> list[tuple[str, str]]:
    given = list(one_of.labels or [])
    result = []
    for index, choice in enumerate(one_of.choices):
        label = given[index] if index < len(given) and given[index] else (labels or {}).get(str(choice), str(choice))
        result.append((str(choice), str(label)))
    return result


def _decimal_step(places) -> str:
    """The step of a Decimal field's input (marshmallow 4 keeps ``places`` as a quantum)."""
    if isinstance(places, Decimal):
        return format(places, "f")
    if isinstance(places, int):
        return format(Decimal(1).scaleb(-places), "f")
    return "any"


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return str(value.value)
    return str(value)


def field_view(name: str, f: mf.Field, *, prefix: str = "", id_prefix: str = "f", value: Any = None,
               errors: list[str] | None = None, label: str | None = None,
               choice_labels: Mapping[str, str] | None = None,
               choices: list[tuple[str, str]] | None = None, required: bool | None = None,
               hint: str | None = None, errors_by_name: Mapping[str, list[str]] | None = None) -> FieldView:
    """Describe one marshmallow field for the templates."""
    metadata = f.metadata or {}
    full_name = f"{prefix}{name}"
    view = FieldView(
        name=full_name, id=f"{id_prefix}-{_slug(full_name)}",
        label=metadata.get("label") or label or _humanise(name),
        widget="text", required=f.required if required is None else required,
        errors=list(errors or []), hint=metadata.get("description") or metadata.get("help") or hint or "",
    )
    choice_labels = metadata.get("choice_labels") or choice_labels
    nested = f.inner if isinstance(f, mf.List) and isinstance(f.inner, mf.Nested) else f
    if isinstance(nested, mf.Nested):
        parts = nested.schema.fields
        own_errors = {k: v for k, v in (errors_by_name or {}).items() if k.startswith(f"{full_name}.")}
        if nested is f:
            view.widget = "group"
            view.children = schema_views(parts, prefix=f"{full_name}.", id_prefix=id_prefix,
                                         values=_nested_values(f"{full_name}.", value), errors=own_errors)
        else:
            items = [item for item in (value or []) if isinstance(item, Mapping)]
            view.widget = "group_list"
            for index in range(len(items) + BLANK_ROWS):
                row_prefix = f"{full_name}.{index}."
                row_values = _nested_values(row_prefix, items[index]) if index < len(items) else {}
                view.rows.append(schema_views(parts, prefix=row_prefix, id_prefix=id_prefix, values=row_values,
                                              errors=own_errors, required=False if index >= len(items) else None))
        if errors_by_name is not None:  # the parts show their own messages; the group, those about the whole
            view.errors = list(errors_by_name.get(full_name, []))
        return view
    if choices is not None:
        view.widget, view.choices, view.value = "select", list(choices), _as_text(value)
    elif isinstance(f, mf.Boolean):
        view.widget, view.value = "checkbox", bool(value)
    elif isinstance(f, mf.Date) and not isinstance(f, mf.DateTime):
        view.widget, view.value = "date", _as_text(value)
    elif isinstance(f, mf.Integer):
        view.widget, view.value = "number", _as_text(value)
    elif isinstance(f, mf.Decimal):
        view.widget, view.step, view.value = "number", _decimal_step(f.places), _as_text(value)
    elif isinstance(f, mf.Float | mf.Number):
        view.widget, view.step, view.value = "number", "any", _as_text(value)
    elif isinstance(f, mf.Enum):
        view.widget = "select"
        view.choices = [(str(m.value), getattr(m, "label", None) or (choice_labels or {}).get(str(m.value), m.name))
                        for m in f.enum]
        view.value = _as_text(value)
    elif isinstance(f, mf.List):
        inner = f.inner
        one_of = _one_of(inner)
        if one_of is not None:
            view.widget, view.choices = "checkboxes", _choices(one_of, choice_labels)
            view.value = [_as_text(v) for v in (value or [])]
        else:
            view.widget = "list"
            view.value = ", ".join(_as_text(v) for v in (value or []))
            view.hint = view.hint or "Plusieurs valeurs séparées par des virgules."
    elif isinstance(f, mf.Dict):
        one_of = _one_of(f.value_field) if f.value_field is not None else None
        current = dict(value or {})
        view.keys = sorted(current)
        view.value = {k: _as_text(v) for k, v in current.items()}
        if one_of is not None:
            view.widget, view.choices = "dict_select", _choices(one_of, choice_labels)
        else:
            view.widget = "dict_text"
    elif isinstance(f, mf.String):
        one_of = _one_of(f)
        if one_of is not None:
            view.widget, view.choices = "select", _choices(one_of, choice_labels)
        else:
            length = _max_length(f)
            view.widget = "textarea" if (length is not None and length > TEXTAREA_OVER) or metadata.get("multiline") \
                else ("email" if isinstance(f, mf.Email) else "text")
        view.value = _as_text(value)
    else:
        view.value = _as_text(value)
    return view


def schema_views(schema_fields: Mapping[str, mf.Field], *, prefix: str = "", id_prefix: str = "f",
                 values: Mapping[str, Any] | None = None, errors: Mapping[str, list[str]] | None = None,
                 labels: Mapping[str, str] | None = None, choice_labels: Mapping[str, Mapping[str, str]] | None = None,
                 choices: Mapping[str, list[tuple[str, str]]] | None = None,
                 hints: Mapping[str, str] | None = None, required: bool | None = None) -> list[FieldView]:
    """Views of every field of a schema (``schema_fields`` is ``Schema().fields`` or a plugin's dict).

    ``values`` and ``errors`` are keyed by the field's full name (with ``prefix``).
    """
    values, errors = values or {}, errors or {}
    result = []
    for name, f in schema_fields.items():
        if f.dump_only:
            continue
        full = f"{prefix}{name}"
        result.append(field_view(
            name, f, prefix=prefix, id_prefix=id_prefix, value=values.get(full, f.load_default
                                                                            if not callable(f.load_default)
                                                                            and f.load_default is not ma.missing
                                                                            else None),
            errors=_errors_of(errors, full), label=(labels or {}).get(name), choice_labels=(choice_labels or {}).get(name),
            choices=(choices or {}).get(name), required=required, hint=(hints or {}).get(name),
            errors_by_name=errors))
    return result


def _errors_of(errors: Mapping[str, list[str]], full: str) -> list[str]:
    """A field's messages, with those of its parts (a dict's keys, a list's items)."""
    found = list(errors.get(full, []))
    for key, messages in errors.items():
        if key.startswith(f"{full}."):
            found.extend(messages)
    return found


def read_form(schema_fields: Mapping[str, mf.Field], form, *, prefix: str = "") -> dict[str, Any]:
    """The submitted values of these fields, as the schema loads them (empty inputs left out)."""
    data: dict[str, Any] = {}
    for name, f in schema_fields.items():
        if f.dump_only:
            continue
        key = f"{prefix}{name}"
        if isinstance(f, mf.Nested):
            part = read_form(f.schema.fields, form, prefix=f"{key}.")
            if _filled(part):
                data[name] = part
        elif isinstance(f, mf.List) and isinstance(f.inner, mf.Nested):
            pattern = re.compile(rf"{re.escape(key)}\.(\d+)\.")
            indices = sorted({int(m.group(1)) for k in form.keys() if (m := pattern.match(k))})
            items = [read_form(f.inner.schema.fields, form, prefix=f"{key}.{index}.") for index in indices]
            items = [item for item in items if _filled(item)]
            if items:
                data[name] = items
        elif isinstance(f, mf.Boolean):
            data[name] = key in form
        elif isinstance(f, mf.List):
            if _one_of(f.inner) is not None:
                data[name] = [v for v in form.getlist(key) if v]
            else:
                raw = form.get(key, "").strip()
                if raw:
                    data[name] = [part.strip() for part in raw.split(",") if part.strip()]
        elif isinstance(f, mf.Dict):
            marker = f"{key}."
            values = {k[len(marker):]: v for k, v in form.items(multi=False) if k.startswith(marker)}
            if values:
                data[name] = values
        else:
            raw = form.get(key, "")
            raw = raw.strip() if isinstance(raw, str) else raw
            if raw not in ("", None):
                data[name] = raw
    return data


def _filled(part: Mapping[str, Any]) -> bool:
    """Whether a nested object's row was filled in (an unticked box alone is an empty row)."""
    return any(value is not False for value in part.values())


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"extra.field": [...]}`` (lists of strings)."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(value, Mapping):
                flat.update(flatten_errors(value, f"{prefix}{key}."))
            elif isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
                for index, item in enumerate(value):
                    flat.update(flatten_errors(item, f"{prefix}{key}.{index}."))
            else:
                flat.setdefault(f"{prefix}{key}", []).extend(
                    str(v) for v in (value if isinstance(value, list | tuple) else [value]))
    elif isinstance(messages, list | tuple):
        flat.setdefault(prefix.rstrip(".") or "_schema", []).extend(str(v) for v in messages)
    else:
        flat.setdefault(prefix.rstrip(".") or "_schema", []).append(str(messages))
    return flat


def _descendants(views: list[FieldView]):
    """The views and, depth first, the parts of nested objects and of their rows."""
    for view in views:
        yield view
        yield from _descendants(view.children)
        for row in view.rows:
            yield from _descendants(row)


def summary(views: list[FieldView], errors: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(anchor, message) pairs for the error summary: every message linked to its field when known."""
    every = list(_descendants(views))
    by_name = {v.name: v for v in every}
    items: list[tuple[str, str]] = []
    for name, messages in errors.items():
        view = by_name.get(name) or max((v for v in every if name.startswith(f"{v.name}.")),
                                        key=lambda v: len(v.name), default=None)
        for message in messages:
            if view is not None:
                items.append((view.anchor, f"{view.label} : {message}"))
            else:
                items.append(("", message))
    return items
