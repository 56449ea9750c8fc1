"""Spending and usage reports for a team's managers: grouped queries, pages and CSV exports."""
