"""The Celery app of a worker: `celery -A jn_credit_dagster.celery_app worker -Q dagster,warehouse`.

Celery's command line needs a module-level app; it is built from the environment (cluster.py), the same
way the run process builds its own, so both agree on broker, backend and task settings.
"""

from jn_credit_dagster.defs.cluster import worker_app

app = worker_app()
