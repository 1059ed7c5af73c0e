"""Dialogue sessions."""
