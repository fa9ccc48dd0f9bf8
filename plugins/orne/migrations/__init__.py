"""The orne plugin's Alembic branch, shipped in the wheel and found through the package."""
