"""Measuring the engine: impostor scores for the operating point, and evaluations of pairs and galleries."""
