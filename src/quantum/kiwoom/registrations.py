"""Which realtime registrations a stream holds, and in which groups.

Pure bookkeeping, kept apart from the socket: it decides how REG / REMOVE
requests spread items over groups (at most ``items_per_group`` items each,
PROTOCOL.md §8.2), remembers what the server acknowledged, and builds the
messages. :class:`quantum.kiwoom.stream.KiwoomStream` sends them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypeAlias

from quantum.kiwoom.realtime import ACCOUNT_TYPES, REALTIME_TYPES, Trnm

Registration: TypeAlias = tuple[str, str]
"""(item as sent in REG, realtime type); account types use the item ``""``."""

MAX_GROUP_NO = 9999
"""``grp_no`` is at most 4 characters."""


def as_list(values: str | Iterable[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def registration_pairs(codes: str | Iterable[str], types: Iterable[str]) -> list[Registration]:
    """Every (item, type) pair a request names; account types take the item ``""``."""
    type_list = as_list(types)
    unknown = [t for t in type_list if t not in REALTIME_TYPES]
    if unknown:
        raise ValueError(f"unknown realtime types: {unknown}")
    items = [code.strip() for code in as_list(codes)]
    pairs: list[Registration] = []
    for type_code in type_list:
        if type_code in ACCOUNT_TYPES:
            pairs.append(("", type_code))
            continue
        if not items or any(not item for item in items):
            raise ValueError(f"type {type_code} needs non-empty stock codes")
        pairs.extend((item, type_code) for item in items)
    return list(dict.fromkeys(pairs))


def check_group(group: str) -> None:
    if not group or len(group) > 4:
        raise ValueError("group must be 1-4 characters")


def registration_message(trnm: Trnm, group: str, pairs: Iterable[Registration]) -> dict[str, Any]:
    """One REG / REMOVE message; items sharing the same types go in one data entry."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for item, type_code in sorted(pairs):
        by_type[type_code].append(item)
    by_items: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for type_code, items in sorted(by_type.items()):
        key = ("",) if type_code in ACCOUNT_TYPES else tuple(items)
        by_items[key].append(type_code)
    message: dict[str, Any] = {"trnm": trnm.value, "grp_no": group}
    if trnm is Trnm.REG:
        message["refresh"] = "1"
    message["data"] = [{"item": list(items), "type": types} for items, types in by_items.items()]
    return message


class RegistrationBook:
    """What the server has acknowledged, by group."""

    def __init__(self, items_per_group: int) -> None:
        self.items_per_group = items_per_group
        self.groups: dict[str, set[Registration]] = {}
        self.user_groups: set[str] = set()
        """Groups the caller named; automatic allocation never uses them."""

    def snapshot(self) -> dict[str, frozenset[Registration]]:
        return {group: frozenset(pairs) for group, pairs in sorted(self.groups.items())}

    def missing(self, pairs: list[Registration]) -> list[Registration]:
        registered: set[Registration] = set().union(*self.groups.values())
        return [pair for pair in pairs if pair not in registered]

    def acknowledged_reg(self, group: str, pairs: list[Registration], named: bool) -> None:
        self.groups.setdefault(group, set()).update(pairs)
        if named:
            self.user_groups.add(group)

    def acknowledged_remove(self, group: str, pairs: list[Registration]) -> None:
        remaining = self.groups[group]
        remaining.difference_update(pairs)
        if not remaining:
            del self.groups[group]
            self.user_groups.discard(group)

    def removal_plan(
        self, pairs: list[Registration], group: str | None
    ) -> dict[str, list[Registration]]:
        wanted = set(pairs)
        return {
            name: sorted(held & wanted)
            for name, held in sorted(self.groups.items())
            if (group is None or name == group) and held & wanted
        }

    def allocate(
        self, pairs: list[Registration], group: str | None
    ) -> dict[str, list[Registration]]:
        """Which group each new pair goes to; at most ``items_per_group`` items a group."""
        limit = self.items_per_group
        items_in: dict[str, set[str]] = defaultdict(set)
        for name, held in self.groups.items():
            items_in[name].update(item for item, t in held if t not in ACCOUNT_TYPES)
        plan: dict[str, list[Registration]] = defaultdict(list)
        if group is not None:
            items = items_in[group] | {item for item, t in pairs if t not in ACCOUNT_TYPES}
            if len(items) > limit:
                raise ValueError(f"group {group} would hold {len(items)} items (limit {limit})")
            plan[group] = pairs
            return dict(plan)
        taken = set(self.groups) | self.user_groups

        def auto_groups() -> list[str]:
            names = (set(self.groups) | set(plan)) - self.user_groups
            return sorted(names, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))

        def new_group() -> str:
            for number in range(1, MAX_GROUP_NO + 1):
                name = str(number)
                if name not in taken and name not in plan:
                    return name
            raise ValueError("no realtime group number left")

        def holds_account_types(name: str) -> bool:
            held = [*self.groups.get(name, ()), *plan.get(name, ())]
            return any(t in ACCOUNT_TYPES for _, t in held)

        for item, type_code in pairs:
            if type_code in ACCOUNT_TYPES:
                holders = [g for g in auto_groups() if holds_account_types(g)]
                target = (holders or auto_groups() or [new_group()])[0]
            else:
                autos = auto_groups()
                holding = [g for g in autos if item in items_in[g]]
                roomy = [g for g in autos if len(items_in[g]) < limit]
                target = (holding or roomy or [new_group()])[0]
                items_in[target].add(item)
            plan[target].append((item, type_code))
        return dict(plan)
