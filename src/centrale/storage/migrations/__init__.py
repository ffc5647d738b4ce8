"""Alembic migrations of the storage schema (run with :func:`centrale.storage.migrate`).

``env.py`` is Alembic's entry point; ``versions/`` holds one file per schema revision. The files ship
with the package, so an installed centrale can upgrade its database without a checkout.
"""
