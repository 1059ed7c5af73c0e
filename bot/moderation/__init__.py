"""Moderation: what moderators do to a case, the queue, cards, the case view, service levels,
spike detection, "you said, we did" and audit browsing.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["actions", "cards", "queue", "staff_names"]
