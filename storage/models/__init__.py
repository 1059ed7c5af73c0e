"""Every table of Hiwar; importing this module registers them all on `Base.metadata`."""

from storage.models.base import Base, UtcDateTime
from storage.models.broadcasts import Broadcast
from storage.models.grievances import Grievance, GrievanceEntry, GrievanceReporter
from storage.models.moderation import CaseCardCopy, SpikeAlert, StaffName
from storage.models.people import AuditEntry, Member, StaffRole
from storage.models.runtime import (
    ChatLease,
    ChatMove,
    FlowState,
    InboxUpdate,
    OutboxMessage,
    RuntimeLease,
    ScheduledTask,
    SentMessageLink,
)
from storage.models.sessions import DialogueSession, SessionFeedback, SessionRegistration
from storage.models.surveys import Survey, SurveyAnswer, SurveyResponse

__all__ = [
    "AuditEntry",
    "Base",
    "Broadcast",
    "CaseCardCopy",
    "ChatLease",
    "ChatMove",
    "DialogueSession",
    "FlowState",
    "Grievance",
    "GrievanceEntry",
    "GrievanceReporter",
    "InboxUpdate",
    "Member",
    "OutboxMessage",
    "RuntimeLease",
    "ScheduledTask",
    "SentMessageLink",
    "SessionFeedback",
    "SessionRegistration",
    "SpikeAlert",
    "StaffName",
    "StaffRole",
    "Survey",
    "SurveyAnswer",
    "SurveyResponse",
    "UtcDateTime",
]
