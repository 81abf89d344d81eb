"""The file adapter: canonical events as JSON lines in a file, exactly once (for trials)."""
