"""router/analysis (built by later issues)."""
