"""Phones are normalised on the way in and masked on the way out."""

import pandas as pd
import pytest

from siyu.core.errors import PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.core.pii import mask_phone, normalize_phone, normalize_phone_series


@pytest.mark.parametrize("raw", ["13800000001", "+86 138 0000 0001", "138-0000-0001",
                                 "0086 13800000001", "8613800000001", "(138)00000001",
                                 "13800000001.0", " 138 0000 0001 "])
def test_odd_phone_formats_are_normalised(raw):
    assert normalize_phone(raw) == "13800000001"


@pytest.mark.parametrize("raw", ["12345", "23800000001", "1380000000", "abc", "+1 650 253 0000"])
def test_non_mobile_numbers_are_rejected_with_the_value(raw):
    with pytest.raises(ValidationError, match="not a mainland mobile"):
        normalize_phone(raw)


def test_empty_phone_is_none():
    assert normalize_phone("") is None and normalize_phone(None) is None


def test_series_normalisation_flags_only_bad_values():
    phones, bad = normalize_phone_series(pd.Series(["+86 13800000001", "", "123"]))
    assert phones.tolist() == ["13800000001", None, None]
    assert bad.tolist() == [False, False, True]


def test_mask():
    assert mask_phone("13800000001") == "138****0001"


def test_df_masks_phones_by_default(ws):
    ws.contacts.upsert("wm1", phone="13800000001")
    assert ws.contacts.df()["phone"].tolist() == ["138****0001"]
    assert ws.contacts.df(reveal_pii=True)["phone"].tolist() == ["13800000001"]


def test_operator_cannot_reveal_phones(ws):
    ws.contacts.upsert("wm1", phone="13800000001")
    operator = ws.as_user(Principal("amy", "operator"))
    assert operator.contacts.df()["phone"].tolist() == ["138****0001"]
    with pytest.raises(PermissionDenied, match="amy"):
        operator.contacts.df(reveal_pii=True)


def test_order_buyer_phone_is_masked(ws):
    ws.orders.add("o1", amount_fen=1, paid_at="2026-11-01", buyer_phone="13900000002")
    assert ws.orders.df()["buyer_phone"].tolist() == ["139****0002"]
