"""Pure domain logic: calendar arithmetic, the measure state machine."""
