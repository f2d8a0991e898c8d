"""router/api (built by later issues)."""
