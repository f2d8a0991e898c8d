"""The data plane and the rollout brain: inference, traffic, telemetry, analysis, rollout, api."""
