"""The live pipeline: detect -> track -> quality gate -> embed -> fuse -> search -> decide.

It talks only to protocols (Detector, Embedder, GalleryIndex, AlertSink); the service layer
chooses the backends.
"""
