"""Putting people into the gallery: one subject per photo, checked against each other and against the people already enrolled."""
