"""Demo data for training moderators (`python -m bot demo-data`)."""
