"""Shared by every stage: the database, paths, the city's reference data, status names, privacy,
what tables and reports show, alerts, digests, identifiers."""
