"""Grievance settings from HIWAR_* variables, with the defaults of SPEC §3.4, §4.1 and §7."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.config import ConfigError
from bot.grievances.directory import SHIPPED_REFERRALS, referrals


@dataclass(frozen=True)
class GrievancePolicy:
    ack_sla: timedelta = timedelta(hours=48)
    appeal_period: timedelta = timedelta(days=30)
    identity_retention: timedelta = timedelta(days=90)
    reports_per_hour: int = 3
    # Acknowledgement targets by urgency; a risk-flagged report gets the urgent one.
    ack_urgent: timedelta = timedelta(hours=2)
    ack_medium: timedelta = timedelta(hours=24)
    referrals_file: Path = SHIPPED_REFERRALS

    def ack_target(self, urgency: str, risk_flagged: bool) -> timedelta:
        """How soon a report of `urgency` is promised an acknowledgement."""
        if urgency == "urgent" or risk_flagged:
            return min(self.ack_urgent, self.ack_sla)
        if urgency == "medium":
            return min(self.ack_medium, self.ack_sla)
        return self.ack_sla


def _positive(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if number < 1:
        raise ConfigError(f"{name} must be at least 1, got {number}")
    return number


def _referrals_file(values: Mapping[str, str]) -> Path:
    raw = (values.get("HIWAR_REFERRALS_FILE") or "").strip()
    if not raw:
        return SHIPPED_REFERRALS
    path = Path(raw).expanduser().resolve()
    try:
        referrals(path)
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(
            f"HIWAR_REFERRALS_FILE: cannot read a referral directory from {raw!r} ({error})"
        ) from None
    return path


def policy_from(extra: Mapping[str, str]) -> GrievancePolicy:
    return GrievancePolicy(
        ack_sla=timedelta(hours=_positive(extra, "HIWAR_ACK_SLA_HOURS", 48)),
        appeal_period=timedelta(days=_positive(extra, "HIWAR_APPEAL_DAYS", 30)),
        identity_retention=timedelta(days=_positive(extra, "HIWAR_IDENTITY_RETENTION_DAYS", 90)),
        reports_per_hour=_positive(extra, "HIWAR_REPORTS_PER_HOUR", 3),
        ack_urgent=timedelta(hours=_positive(extra, "HIWAR_ACK_URGENT_HOURS", 2)),
        ack_medium=timedelta(hours=_positive(extra, "HIWAR_ACK_MEDIUM_HOURS", 24)),
        referrals_file=_referrals_file(extra),
    )
