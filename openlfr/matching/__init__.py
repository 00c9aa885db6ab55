"""Gallery search, per-track score fusion and the threshold decision."""
