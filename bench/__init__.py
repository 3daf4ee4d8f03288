"""incidentbot's benchmark suite: `python -m bench` (see bench/README.md). Measurements only, never pass/fail."""
