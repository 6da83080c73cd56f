"""Transport-neutral services: the REST routes, the CLI and tests call these."""
