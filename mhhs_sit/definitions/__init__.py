"""Files a test team writes -> validated, typed models: scenarios, cohorts, environments, requirements."""
