"""Detection: threshold rules turn snapshots into incidents."""
