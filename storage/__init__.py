"""Storage: typed SQLAlchemy 2.0 models, the engine, migrations and query functions.

Imports nothing of the project. Timestamps are timezone-aware UTC (DESIGN.md invariant 7).
"""
