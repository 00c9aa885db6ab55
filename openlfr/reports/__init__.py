"""Transparency reports (R14, DESIGN.md §5): per-deployment records and aggregate reports over
a period, as JSON, CSV and standalone HTML with charts. Public-safe by construction: built from
the allow-listed fields of ``PublicRecord`` only.

The web UI's public page and ``openlfr report`` both call:

- ``aggregate(ctx, start, end) -> AggregateReport`` and ``load_public_record(ctx, id)``
- ``to_json``, ``to_csv``, ``to_html`` (an ``AggregateReport``) and ``record_html``,
  ``record_json`` (a ``PublicRecord``).
"""

from openlfr.reports.model import (
    AggregateReport,
    Deletion,
    FunnelStage,
    PublicRecord,
    Totals,
    aggregate,
    load_public_record,
    public_record,
)
from openlfr.reports.render import csv_columns, record_html, record_json, to_csv, to_html, to_json

__all__ = [
    "AggregateReport",
    "Deletion",
    "FunnelStage",
    "PublicRecord",
    "Totals",
    "aggregate",
    "csv_columns",
    "load_public_record",
    "public_record",
    "record_html",
    "record_json",
    "to_csv",
    "to_html",
    "to_json",
]
