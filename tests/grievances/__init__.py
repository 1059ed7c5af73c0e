"""Grievance reporting."""
