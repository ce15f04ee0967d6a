"""Ingest: the inbox, readers and guards, feed specs and suites, the judge, the loader, the ledger,
the checks' results and the deep check."""
