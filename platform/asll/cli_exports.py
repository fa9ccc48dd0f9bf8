"""``flask asll`` commands of the exports feature (registered on :data:`asll.cli.asll_group`)."""
