"""Failures around the broker (holder, database, process) and what survives them."""
