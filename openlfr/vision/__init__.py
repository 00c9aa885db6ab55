"""Face detection, alignment, quality and embedding: numpy in, numpy out."""

import os

# OpenCV 5 warns on every model load that DNN targets are unsupported by its new engine:
# noise on stderr for a person, and nothing we can act on.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
