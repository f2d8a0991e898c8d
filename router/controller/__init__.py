"""The rollout controller: the lease, the tick that judges and steps rollouts, and the
actions it executes (policies, alias moves, events)."""
