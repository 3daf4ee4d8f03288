"""Periodic background work every replica may run (nudges)."""
