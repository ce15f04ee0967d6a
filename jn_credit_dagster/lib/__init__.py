"""Plain code by pipeline stage (no Dagster): ingest/, warehouse/, indicators/, and common/ for what
every stage shares. The Dagster glue that runs it lives in jn_credit_dagster/defs/."""
