"""maild: the daemon, its CLI and the pipeline where parsing, rules, storage and outbound meet."""

__version__ = "0.1.0"
