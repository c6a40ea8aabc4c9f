"""Group membership, as DefaultHubLifetimeManager keeps it.

Names compare ordinally (case-sensitive, "Room" is not "room"); a group exists
while it has members and is dropped with its last one; a connection's groups end
with it. Adding a member twice or removing a non-member changes nothing.
"""

from __future__ import annotations

import math
from typing import Generic, Protocol, TypeVar


class Member(Protocol):
    @property
    def connection_id(self) -> str: ...


M = TypeVar("M", bound=Member)


class GroupRegistry(Generic[M]):
    def __init__(self) -> None:
        # Members in the order they joined, so sends and listings are repeatable.
        self._groups: dict[str, dict[str, M]] = {}
        self._names: dict[str, set[str]] = {}

    def add(self, member: M, group: str) -> bool:
        """True if `member` joined `group` now."""
        names = self._names.setdefault(member.connection_id, set())
        if group in names:
            return False
        names.add(group)
        self._groups.setdefault(group, {})[member.connection_id] = member
        return True

    def remove(self, connection_id: str, group: str) -> bool:
        """True if the connection was in `group` and left it now."""
        names = self._names.get(connection_id)
        if names is None or group not in names:
            return False
        names.discard(group)
        if not names:
            del self._names[connection_id]
        members = self._groups[group]
        del members[connection_id]
        if not members:
            del self._groups[group]
        return True

    def remove_member(self, connection_id: str) -> None:
        """The connection leaves every group it is in."""
        for group in list(self._names.get(connection_id, ())):
            self.remove(connection_id, group)

    def members(self, group: str) -> list[M]:
        return list(self._groups.get(group, {}).values())

    def groups_of(self, connection_id: str) -> set[str]:
        return set(self._names.get(connection_id, ()))

    def sizes(self) -> dict[str, int]:
        """Every group with its member count, by name."""
        return {name: len(members) for name, members in sorted(self._groups.items())}


class UserGroups:
    """Groups a user was added to as a user (the HTTP API, as Azure SignalR Service
    keeps them): the user's connections join them, those that connect later too,
    until the membership's deadline (trio clock; inf for none)."""

    def __init__(self) -> None:
        self._deadlines: dict[str, dict[str, float]] = {}

    def add(self, user: str, group: str, deadline: float) -> None:
        self._deadlines.setdefault(user, {})[group] = deadline

    def remove(self, user: str, group: str) -> None:
        groups = self._deadlines.get(user)
        if groups is not None:
            groups.pop(group, None)
            if not groups:
                del self._deadlines[user]

    def forget(self, user: str) -> None:
        self._deadlines.pop(user, None)

    def has(self, user: str, group: str, now: float) -> bool:
        return self._deadlines.get(user, {}).get(group, -math.inf) > now

    def groups_of(self, user: str, now: float) -> list[str]:
        """The user's current groups; expired memberships are dropped."""
        groups = self._deadlines.get(user, {})
        for group in [name for name, deadline in groups.items() if deadline <= now]:
            self.remove(user, group)
        return list(groups)
