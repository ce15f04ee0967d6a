import dagster as dg

from jn_credit_dagster.defs import cluster


@dg.definitions
def executor() -> dg.Definitions:
    # JN_CREDIT_EXECUTOR=celery (deploy/celery.env) sends every step of a launched run to the Celery
    # workers; unset, the jobs keep Dagster's default executor. `jn-credit run` executes in process either way.
    return dg.Definitions(executor=cluster.celery_executor) if cluster.enabled() else dg.Definitions()
