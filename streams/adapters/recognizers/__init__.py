"""Presidio recognizers douane adds: one identifier per module, each validated by checksum."""
