"""Server-rendered pages (French) over the services."""
