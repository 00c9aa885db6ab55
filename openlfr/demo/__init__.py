"""`openlfr demo`: a whole deployment on material built at run time (no photographs shipped)."""
