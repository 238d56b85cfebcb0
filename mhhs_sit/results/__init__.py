"""What a run produced: one record per collected case, and the run's results file."""
