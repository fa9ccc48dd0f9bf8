"""The plugin contract: hook specifications, value objects and the per-tenant manager."""
