"""Face detection, alignment, quality and embedding: numpy in, numpy out."""
