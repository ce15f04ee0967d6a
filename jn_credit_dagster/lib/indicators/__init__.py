"""Indicators: the catalog, the month's computation from sql/indicators/, what the SQL reads, and the
explanation of a value line by line."""
