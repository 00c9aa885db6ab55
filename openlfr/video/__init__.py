"""Frame sources (PyAV) and the per-camera runner."""
