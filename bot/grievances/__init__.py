"""Grievances: the report flow, submission, references, follow-up, notices to staff and members,
the referral directory, statistics and exports.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["cases", "directory", "flow", "notices", "stats"]
