"""router/traffic (built by later issues)."""
