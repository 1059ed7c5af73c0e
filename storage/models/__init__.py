"""Every table of Hiwar; importing this module registers them all on `Base.metadata`."""

from storage.models.base import Base, UtcDateTime
from storage.models.people import AuditEntry, Member, StaffRole
from storage.models.runtime import (
    ChatLease,
    FlowState,
    InboxUpdate,
    OutboxMessage,
    ScheduledTask,
)

__all__ = [
    "AuditEntry",
    "Base",
    "ChatLease",
    "FlowState",
    "InboxUpdate",
    "Member",
    "OutboxMessage",
    "ScheduledTask",
    "StaffRole",
    "UtcDateTime",
]
