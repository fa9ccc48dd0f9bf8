"""Tables of the exports feature."""
