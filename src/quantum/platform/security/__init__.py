"""Security primitives of the platform: encryption at rest, passwords, JWTs, login limits.

Kept free of FastAPI and database imports so they can be unit-tested and reused by the CLI.
"""
