"""Needs surveys and XLSForms."""
