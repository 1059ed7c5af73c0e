"""Message catalogues and their renderer; a leaf package that imports nothing of Hiwar."""

from messages.catalogue import (
    LANGUAGES,
    Catalogue,
    MissingMessage,
    format_number,
    isolate,
    shared_catalogue,
)

__all__ = [
    "LANGUAGES",
    "Catalogue",
    "MissingMessage",
    "format_number",
    "isolate",
    "shared_catalogue",
]
