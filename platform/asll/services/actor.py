"""Who is acting: the user, their roles in the current tenant, and where from."""

from __future__ import annotations

from dataclasses import dataclass, field

from asll.models import Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    tenant_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    organisation_ids: frozenset[int] = field(default_factory=frozenset)
    is_platform_admin: bool = False
    ip: str = ""

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @classmethod
    def system(cls, tenant_id: int | None = None, label: str = "système") -> Actor:
        """The platform itself (scheduled tasks, command line)."""
        return cls(user_id=None, label=label, tenant_id=tenant_id)

    @classmethod
    def for_user(cls, user, memberships, tenant_id: int | None, ip: str = "") -> Actor:
        memberships = [m for m in memberships if m.active and m.tenant_id == tenant_id]
        return cls(
            user_id=user.id,
            label=user.email,
            tenant_id=tenant_id,
            roles=frozenset(m.role for m in memberships),
            organisation_ids=frozenset(m.organisation_id for m in memberships if m.organisation_id),
            is_platform_admin=user.is_platform_admin,
            ip=ip,
        )
