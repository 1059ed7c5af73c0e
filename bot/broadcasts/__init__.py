"""Announcements: drafting, the audience, delivery and the organiser's flow.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["audience", "lifecycle"]
