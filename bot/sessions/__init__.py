"""Dialogue sessions: authoring, publishing, registration and the waiting list, reminders,
check-in, exports and feedback.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["lifecycle", "organiser_input", "registration"]
