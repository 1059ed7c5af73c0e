"""The engines every feature uses: flows, the outbox, due-time tasks, roles, the audit log,
numbers typed in either digit style, field encryption and the command menus.

Every feature may use every engine; an engine never imports a feature package.
"""
