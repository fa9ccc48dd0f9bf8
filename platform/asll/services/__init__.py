"""Use cases. Views, API, CLI and tasks call these; they never query the database themselves."""
