"""Which commands each person is shown in Telegram's command menu and in /help (SPEC §6).

Feature modules declare their commands as data:

    member_commands = (("profile", "onboarding.commands.profile"),)
    staff_commands = (("grant", "staff.commands.grant"),)

(command, catalogue key of its description). Members see member commands; a staff member
also sees the staff commands their roles allow (the roles come from the `staff_only` guard
of the command's handler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.engines.roles import Role, may_act

MEMBER_COMMANDS_ATTRIBUTE = "member_commands"
STAFF_COMMANDS_ATTRIBUTE = "staff_commands"


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description_key: str
    allowed_roles: frozenset[Role] = frozenset()  # empty: everyone (member commands)


@dataclass(frozen=True)
class CommandMenu:
    member: tuple[MenuCommand, ...]
    staff: tuple[MenuCommand, ...]

    @property
    def member_command_names(self) -> frozenset[str]:
        return frozenset(c.command for c in self.member)

    @property
    def staff_command_names(self) -> frozenset[str]:
        return frozenset(c.command for c in self.staff)

    def staff_commands_for(self, roles: Iterable[Role]) -> tuple[MenuCommand, ...]:
        held = frozenset(roles)
        if not held:
            return ()
        return tuple(c for c in self.staff if may_act(held, c.allowed_roles or {Role.ADMIN}))


def _declared(module: object, attribute: str) -> list[tuple[str, str]]:
    value = getattr(module, attribute, ())
    return [(str(command), str(key)) for command, key in value]


def collect_commands(
    modules: Iterable[object], guarded: Mapping[str, frozenset[Role]]
) -> CommandMenu:
    """The menu from the modules' declarations; `guarded` maps staff commands to roles."""
    member: dict[str, MenuCommand] = {}
    staff: dict[str, MenuCommand] = {}
    for module in modules:
        for command, key in _declared(module, MEMBER_COMMANDS_ATTRIBUTE):
            member.setdefault(command, MenuCommand(command, key))
        for command, key in _declared(module, STAFF_COMMANDS_ATTRIBUTE):
            staff.setdefault(command, MenuCommand(command, key, guarded.get(command, frozenset())))
    return CommandMenu(tuple(member.values()), tuple(staff.values()))
