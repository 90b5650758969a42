"""The reporting hierarchy as roll-ups walk it: one read of ``(id, manager_id)``, then plain dictionaries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from revcast.core import visibility


@dataclass
class Tree:
    """Users by id with their manager and direct reports; ``roots`` have no manager (or a manager outside)."""

    users: dict[int, Any]
    parent: dict[int, int | None]
    children: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Tree:
        from revcast.org.models import User

        users = {u.pk: u for u in User.objects.filter(is_active=True)}
        parent = {pk: (u.manager_id if u.manager_id in users else None) for pk, u in users.items()}
        children: dict[int | None, list[int]] = defaultdict(list)
        for pk in sorted(users, key=lambda k: users[k].username):
            children[parent[pk]].append(pk)
        return cls(users=users, parent=parent, children=dict(children))

    def kids(self, pk: int | None) -> list[int]:
        return self.children.get(pk, [])

    def subtree(self, pk: int) -> list[int]:
        """``pk`` and everyone below, depth first."""
        out, stack = [], [pk]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(self.kids(node)))
        return out

    def ancestors(self, pk: int) -> list[int]:
        """The managers above ``pk``, nearest first."""
        out: list[int] = []
        node = self.parent.get(pk)
        while node is not None and node not in out:
            out.append(node)
            node = self.parent.get(node)
        return out

    def depth(self, pk: int) -> int:
        return len(self.ancestors(pk))

    def is_above(self, manager: int, pk: int) -> bool:
        """True when ``manager`` is somewhere above ``pk`` in the reporting line."""
        return manager in self.ancestors(pk)

    def may_see(self, viewer: Any, pk: int) -> bool:
        owners = visibility.visible_owner_ids(viewer)
        return owners is None or pk in owners
