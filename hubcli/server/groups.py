"""Group membership, as DefaultHubLifetimeManager keeps it.

Names compare ordinally (case-sensitive, "Room" is not "room"); a group exists
while it has members and is dropped with its last one; a connection's groups end
with it. Adding a member twice or removing a non-member changes nothing.
"""

from __future__ import annotations

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
