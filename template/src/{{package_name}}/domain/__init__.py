"""Business rules: entities, use-case services, ports. No I/O, no HTTP."""
