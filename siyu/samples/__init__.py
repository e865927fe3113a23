"""The bundled sample business: a skincare brand's stores, guides, customers and orders.

``siyu demo`` loads it into a fresh workspace; tests and notebooks can too::

    import siyu
    from siyu.samples import load_sample_business

    ws = siyu.open("demo.db")
    load_sample_business(ws)

The CSV files are written by :mod:`siyu.samples.generate` (deterministic) and shaped like
real exports: ``contacts.csv`` has Chinese headers and a UTF-8 BOM, ``orders.csv`` is GBK.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: The files of the sample business, in load order.
SAMPLE_FILES = ("stores.csv", "staff.csv", "contacts.csv", "orders.csv")

#: ``source`` of the sample orders (orders are unique per source and order number).
ORDER_SOURCE = "sample"


def sample_path(name: str) -> Path:
    """The path of a bundled sample file, e.g. ``sample_path("contacts.csv")``.

    :raises FileNotFoundError: ``name`` is not one of :data:`SAMPLE_FILES`.
    """
    if name not in SAMPLE_FILES:
        raise FileNotFoundError(f"no sample file {name!r}; one of {', '.join(SAMPLE_FILES)}")
    return Path(str(resources.files(__name__) / name))


def _rows(name: str) -> list[dict[str, str]]:
    with sample_path(name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def sample_staff() -> list[dict[str, str]]:
    """The sample business's staff as ``staff.csv`` lists them, each with the name of their
    store: ``{"userid", "name", "store", "store_name", "region"}`` (the store's empty for
    staff without a store). ``siyu demo`` gives the built-in WeCom sandbox these members, so
    every guide the console offers exists in WeCom too. ``region`` is the store's region."""
    stores = {row["code"]: row for row in _rows("stores.csv")}
    return [{"userid": row["userid"], "name": row["name"], "store": row["store"],
             "store_name": stores.get(row["store"], {}).get("name", ""),
             "region": stores.get(row["store"], {}).get("region", "")}
            for row in _rows("staff.csv")]


def load_sample_business(ws: Workspace, progress: bool = False) -> dict[str, Any]:
    """Load the sample stores, staff, contacts and orders into ``ws``.

    Safe to run twice: stores and staff are upserted, contacts are matched on
    ``external_userid`` and orders on their order number, so a second run changes nothing.

    :param ws: an open workspace, normally a fresh one.
    :param progress: show progress bars while importing.
    :return: ``{"stores": int, "staff": int, "contacts": ImportReport,
        "orders": ImportReport}``.
    :raises siyu.core.errors.ImportFailed: a sample file was rejected (a bug in the
        samples or the importer).
    """
    stores = _rows("stores.csv")
    for row in stores:
        ws.stores.upsert(row["code"], row["name"], region=row["region"], city=row["city"])
    staff = _rows("staff.csv")
    for row in staff:
        ws.staff.upsert(row["userid"], row["name"], store=row["store"] or None)
    contacts = ws.imports.contacts(sample_path("contacts.csv"), create_tags=True,
                                   progress=progress)
    orders = ws.imports.orders(sample_path("orders.csv"), source=ORDER_SOURCE,
                               progress=progress)
    return {"stores": len(stores), "staff": len(staff), "contacts": contacts,
            "orders": orders}
