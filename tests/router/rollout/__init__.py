"""Tests of router.rollout."""
