"""Measuring openlfr: the live pipeline on a video, verification, identification."""
