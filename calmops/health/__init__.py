"""Health: what services report (probes, pushes, the demo simulation) and their state right now."""
