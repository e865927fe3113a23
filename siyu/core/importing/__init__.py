"""Importing contacts and orders from CSV and Excel files.

Files may be UTF-8, UTF-8 with BOM or GBK/GB18030 CSV, or .xlsx. Every row is validated
first; a file with bad rows imports nothing (each problem names its line and reason) unless
``skip_bad_rows`` is set. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siyu.core.importing.headers import CONTACT_FIELDS, ORDER_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.importing.table import ImportReport, RowProblem
    from siyu.core.workspace import Workspace

__all__ = ["CONTACT_FIELDS", "ORDER_FIELDS", "ImportReport", "Importer", "RowProblem"]

#: Imported on first use (PEP 562): the importers need pandas, and modules that only want
#: :mod:`siyu.core.importing.progress` (the CLI at start) should not pay for it.
_LAZY = {"ImportReport": ("siyu.core.importing.table", "ImportReport"),
         "RowProblem": ("siyu.core.importing.table", "RowProblem")}


def __getattr__(name: str) -> Any:
    """The names of :data:`_LAZY`, imported the first time they are asked for."""
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'siyu.core.importing' has no attribute {name!r}")


class Importer:
    """``ws.imports``: ``ws.imports.contacts("members.csv")``."""

    def __init__(self, ws: Workspace):
        self.ws = ws

    def contacts(self, path: str | Path, *, mapping: dict[str, str] | None = None,
                 key: str = "external_userid", skip_bad_rows: bool = False,
                 create_tags: bool = False, progress: bool | None = None,
                 custom_fields: bool | list[str] = False) -> ImportReport:
        """Import contacts from ``path``.

        :param mapping: ``{"file column": "field"}``; common headers (手机号, 昵称, 性别, 城市,
            负责人/导购, 门店, 渠道, 添加时间, 标签…, see :data:`CONTACT_FIELDS`) are
            recognised without it. Fields: ``external_userid, unionid, name, phone, gender,
            city, owner, store, source_channel, remark, added_at, tags, member_id``.
            Columns neither recognised nor mapped are not imported; the report names them
            (``report.ignored_columns`` and its summary).
        :param key: the field that identifies a contact: ``external_userid``, ``phone`` or
            ``unionid``. Existing contacts with that key are updated.
        :param skip_bad_rows: import the good rows and report the bad ones.
        :param create_tags: create tags named in the file that do not exist yet.
        :param progress: show a progress bar (default: when on a terminal).
        :param custom_fields: columns to keep as the contacts' custom fields (会员等级, 生日…;
            segments select by them with the ``field`` rule), or ``True`` for every column
            not otherwise imported. A mapping to ``field:<name>`` does the same for one
            column. An empty cell removes that field from the contact.
        :return: an :class:`ImportReport`.
        :raises ImportFailed: unreadable file or bad rows (nothing written).
        """
        from siyu.core.importing.contacts import import_contacts

        return import_contacts(self.ws, path, mapping=mapping, key=key,
                               skip_bad_rows=skip_bad_rows, create_tags=create_tags,
                               progress=progress, custom_fields=custom_fields)

    def orders(self, path: str | Path, *, mapping: dict[str, str] | None = None,
               source: str = "import", skip_bad_rows: bool = False,
               progress: bool | None = None) -> ImportReport:
        """Import orders from ``path``; orders are unique by ``(source, order number)``.

        Orders are matched to contacts by external_userid, else unionid, else the buyer's
        phone. A known order whose amount or status changed (a refund) is updated;
        ``on_order`` fires only for new orders.

        :param source: where the orders come from (``"tmall"``, ``"erp"``…).
        :return: an :class:`ImportReport`.
        :raises ImportFailed: unreadable file or bad rows (nothing written).
        """
        from siyu.core.importing.orders import import_orders

        return import_orders(self.ws, path, mapping=mapping, source=source,
                             skip_bad_rows=skip_bad_rows, progress=progress)

    def order_lines(self, path: str | Path, *, mapping: dict[str, str] | None = None,
                    source: str = "import", skip_bad_rows: bool = False,
                    progress: bool | None = None) -> ImportReport:
        """Import the product lines of orders already imported from ``source`` (a line-item
        export: 订单号, 商品, SKU, 品类, 数量, 金额). The lines in the file replace the stored
        lines of each order it names; segment rules select buyers by product and category.

        :return: an :class:`ImportReport` (``created``: lines stored).
        :raises ImportFailed: unreadable file, bad rows or unknown orders (nothing written).
        """
        from siyu.core.importing.order_lines import import_order_lines

        return import_order_lines(self.ws, path, mapping=mapping, source=source,
                                  skip_bad_rows=skip_bad_rows, progress=progress)
