"""pytest collection: scenario files become one item per case and cohort; per-session state and scheduling."""
