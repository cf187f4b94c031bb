"""Records held in a compact form, written in state documents in their documented one.

A vendor may keep a kind of record in memory in a form cheaper to hold (fewer objects for the
garbage collector to walk and to free) than the form state documents have always written it in. Its
``Vendor`` record names both directions per kind (``Vendor.forms``); the state document
(``server/snapshot.py``) converts every record of that kind on export and on load, so documents stay
byte-for-byte what they were and a saved one still loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from buildmock.store.base import Record


@dataclass(frozen=True)
class Form:
    """A kind's two forms: ``document`` writes a held record, ``held`` reads a written one back
    (raising ``ValueError``, ``KeyError`` or ``TypeError`` for a record it could not have written)."""

    document: Callable[[Record], Record]
    held: Callable[[Record], Record]


#: A vendor's forms by record kind.
Forms = Mapping[str, Form]


def _convert(forms: Forms, dump: Mapping[str, Any], held: bool) -> dict[str, Any]:
    records = {}
    for kind, rows in dump.get("records", {}).items():
        form = forms.get(kind)
        if form is None:
            records[kind] = rows
            continue
        convert = form.held if held else form.document
        records[kind] = [[key, seq, convert(record)] for key, seq, record in rows]
    return {**dump, "records": records}


def documented(forms: Forms, dump: Mapping[str, Any]) -> dict[str, Any]:
    """A store's ``dump`` with every record in the form documents write."""
    return _convert(forms, dump, held=False)


def held(forms: Forms, document: Mapping[str, Any]) -> dict[str, Any]:
    """A document's store (already checked as ``{records, counters}``) as the store holds it."""
    return _convert(forms, document, held=True)
