"""router/telemetry (built by later issues)."""
