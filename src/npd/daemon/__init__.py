"""The daemon: options, assembly and lifecycle."""
