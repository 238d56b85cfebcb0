"""Requirements-to-Test Traceability Matrix: requirements traced to the latest results of a cycle."""
