"""Declarative JSON mapping tables (``tables/``), their schema and the engine."""
