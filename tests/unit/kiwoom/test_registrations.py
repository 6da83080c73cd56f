"""Group allocation and REG/REMOVE messages, without a socket."""

from __future__ import annotations

import pytest

from quantum.kiwoom.realtime import Trnm
from quantum.kiwoom.registrations import (
    RegistrationBook,
    check_group,
    registration_message,
    registration_pairs,
)


def test_pairs_cover_every_item_and_type_and_account_types_take_no_item() -> None:
    pairs = registration_pairs(["005930", "000660"], ["0B", "00"])
    assert pairs == [("005930", "0B"), ("000660", "0B"), ("", "00")]
    assert registration_pairs("005930", "0B") == [("005930", "0B")]
    with pytest.raises(ValueError, match="unknown realtime types"):
        registration_pairs(["005930"], ["ZZ"])
    with pytest.raises(ValueError, match="needs non-empty"):
        registration_pairs([""], ["0B"])
    with pytest.raises(ValueError, match="1-4 characters"):
        check_group("12345")


def test_items_spread_over_groups_at_the_limit() -> None:
    book = RegistrationBook(items_per_group=2)
    pairs = registration_pairs(["A00001", "A00002", "A00003"], ["0B", "0D"])
    plan = book.allocate(pairs, None)
    items = {group: {item for item, _ in held} for group, held in plan.items()}
    assert items == {"1": {"A00001", "A00002"}, "2": {"A00003"}}
    for group, held in plan.items():
        book.acknowledged_reg(group, held, named=False)
    assert book.missing(pairs) == []
    more = book.allocate(registration_pairs(["A00004"], ["0B"]), None)
    assert list(more) == ["2"], "the group with room takes the next item"


def test_named_groups_are_kept_apart_and_checked() -> None:
    book = RegistrationBook(items_per_group=1)
    book.acknowledged_reg("9", [("A00001", "0B")], named=True)
    assert list(book.allocate([("A00002", "0B")], None)) == ["1"]
    with pytest.raises(ValueError, match="limit 1"):
        book.allocate([("A00002", "0B")], "9")


def test_remove_plan_and_bookkeeping() -> None:
    book = RegistrationBook(items_per_group=10)
    book.acknowledged_reg("1", [("A00001", "0B"), ("A00002", "0B")], named=False)
    plan = book.removal_plan([("A00002", "0B"), ("A00009", "0B")], None)
    assert plan == {"1": [("A00002", "0B")]}
    book.acknowledged_remove("1", plan["1"])
    assert book.snapshot() == {"1": frozenset({("A00001", "0B")})}
    book.acknowledged_remove("1", [("A00001", "0B")])
    assert book.snapshot() == {}


def test_messages_have_kiwoom_shape() -> None:
    reg = registration_message(Trnm.REG, "1", [("005930", "0B"), ("005930", "0D"), ("", "00")])
    assert reg == {
        "trnm": "REG",
        "grp_no": "1",
        "refresh": "1",
        "data": [{"item": [""], "type": ["00"]}, {"item": ["005930"], "type": ["0B", "0D"]}],
    }
    remove = registration_message(Trnm.REMOVE, "2", [("000660", "0B")])
    assert remove == {
        "trnm": "REMOVE",
        "grp_no": "2",
        "data": [{"item": ["000660"], "type": ["0B"]}],
    }
