"""router/rollout (built by later issues)."""
