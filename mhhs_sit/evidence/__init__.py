"""Completion evidence: Allure results, redaction, completion report, evidence pack."""
