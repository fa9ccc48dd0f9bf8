"""``flask asll`` commands of the reminders feature (registered on :data:`asll.cli.asll_group`)."""
