"""Schedules and sensors: the monthly cycle of the credit office (issue 6)."""
