"""Ops tools over callers' data: erasing a number everywhere, and its retention."""
