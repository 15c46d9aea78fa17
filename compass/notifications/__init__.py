"""Side effects after commit: the outbox table and the worker that drains it."""
