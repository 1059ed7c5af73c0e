"""Needs surveys: importing an XLSForm, publishing, answering in chat, results and exports.

Other feature packages may import only the modules named in `__all__` (this package's
public face); the rest are its own. `tests/test_layers.py` enforces it.
"""

__all__ = ["charts", "lifecycle"]
