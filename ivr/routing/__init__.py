"""Queues, agents, skills, strategies, overflow steps and callbacks."""
