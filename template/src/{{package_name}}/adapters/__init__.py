"""Adapters: the I/O behind the domain's ports, one module per chosen slice."""
