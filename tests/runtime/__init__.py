"""The runtime: inbox, outbox, tasks, flows, webhook, pacing, restarts, faults, configuration."""
