"""dashboards (built by later issues)."""
