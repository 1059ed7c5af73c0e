"""Members: onboarding and consent, membership and profile, language, the fixed demographic
lists, announcement subscriptions, flood control and erasure on request.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["demographics", "erasure", "language", "records"]
