"""Running the jobs on Celery workers (dagster-celery): one step = one Celery task.

Everything comes from the environment, read when a run or a worker starts (never at import):

| variable | default | what |
| --- | --- | --- |
| JN_CREDIT_EXECUTOR | (unset) | `celery`: the Definitions' jobs use the Celery executor below |
| JN_CREDIT_CELERY_BROKER | pyamqp://guest:guest@127.0.0.1:5672// | the broker (RabbitMQ) |
| JN_CREDIT_CELERY_BACKEND | rpc:// | where step results go back to the run (rpc: RabbitMQ itself) |
| JN_CREDIT_CELERY_QUEUE | dagster | the queue of steps outside the warehouse pool |
| JN_CREDIT_CELERY_WAREHOUSE_QUEUE | warehouse | the queue of the steps in pool `warehouse` |

The run process (the daemon's run worker, or `jn-credit run --executor celery`) and every worker build
their Celery app from `build_executor()`, so both sides agree on broker, backend and task settings.
"""

from __future__ import annotations

import os

import dagster as dg

from jn_credit_dagster.defs.resources import WAREHOUSE_POOL

EXECUTOR_ENV = "JN_CREDIT_EXECUTOR"
DEFAULTS = {
    "JN_CREDIT_CELERY_BROKER": "pyamqp://guest:guest@127.0.0.1:5672//",
    "JN_CREDIT_CELERY_BACKEND": "rpc://",
    "JN_CREDIT_CELERY_QUEUE": "dagster",
    "JN_CREDIT_CELERY_WAREHOUSE_QUEUE": "warehouse",
}

# A worker lost mid-step (SIGKILL, power, OOM) must not lose the step: the message is acknowledged only
# after the step ends (acks_late), so RabbitMQ hands an unacknowledged step to another worker when the
# dead worker's connection drops, and a pool child killed under a living worker puts it back too
# (reject_on_worker_lost). Each step rewrites what it owns in one transaction, so running it again is
# safe. One message at a time per process: a step is long, hoarding would starve the other workers.
TASK_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
    # rpc:// gives every run process a reply queue; one left by a run that died goes after an idle hour
    "result_expires": 3600,
}


def setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def enabled() -> bool:
    return os.environ.get(EXECUTOR_ENV, "").strip().lower() == "celery"


def worker_app():
    """The Celery app a worker runs (`celery -A jn_credit_dagster.celery_app worker`): the very app the run
    process builds from its executor (dagster-celery's `app_args()`), so both sides agree by construction."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    app = make_app(build_executor().app_args())
    create_task(app)  # the one task: execute a step of a run
    return app


def _executor_class():
    from dagster_celery.core_execution_loop import core_celery_execution_loop
    from dagster_celery.executor import CeleryExecutor, _submit_task
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    class PoolRoutedCeleryExecutor(CeleryExecutor):
        """dagster-celery's executor, with the steps of pool `warehouse` sent to the warehouse queue.

        The pool is the assets' own declaration (pool="warehouse"); routing on it keeps the Celery topology
        out of the asset code. An explicit `dagster-celery/queue` op tag still wins. The executor's own
        "Submitting … to queue" event names the default queue; the step's debug log names the real one."""

        def __init__(self, warehouse_queue: str, **kwargs):
            super().__init__(**kwargs)
            self.warehouse_queue = warehouse_queue

        def execute(self, plan_context, execution_plan):
            return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=self._submit)

        def _submit(self, app, plan_context, step, queue, priority, known_state):
            if step.pool == WAREHOUSE_POOL and DAGSTER_CELERY_QUEUE_TAG not in step.tags:
                queue = self.warehouse_queue
            plan_context.log.debug(f"step {step.key} → Celery queue {queue}")
            return _submit_task(app, plan_context, step, queue, priority, known_state)

    return PoolRoutedCeleryExecutor


def build_executor(broker: str | None = None, backend: str | None = None, queue: str | None = None,
                   warehouse_queue: str | None = None):
    """The executor from explicit values, else the environment, else the defaults."""
    from dagster._core.execution.retries import RetryMode

    return _executor_class()(
        warehouse_queue=warehouse_queue or setting("JN_CREDIT_CELERY_WAREHOUSE_QUEUE"),
        broker=broker or setting("JN_CREDIT_CELERY_BROKER"), backend=backend or setting("JN_CREDIT_CELERY_BACKEND"),
        config_source={**TASK_SETTINGS, "task_default_queue": queue or setting("JN_CREDIT_CELERY_QUEUE")},
        retries=RetryMode.ENABLED)


_OPTIONAL = {"is_required": False}


@dg.executor(
    name="jn_credit_celery",
    config_schema={
        "broker": dg.Field(dg.Noneable(dg.StringSource), **_OPTIONAL, description="else JN_CREDIT_CELERY_BROKER"),
        "backend": dg.Field(dg.Noneable(dg.StringSource), **_OPTIONAL, description="else JN_CREDIT_CELERY_BACKEND"),
        "queue": dg.Field(dg.Noneable(dg.StringSource), **_OPTIONAL, description="else JN_CREDIT_CELERY_QUEUE"),
        "warehouse_queue": dg.Field(dg.Noneable(dg.StringSource), **_OPTIONAL,
                                    description="else JN_CREDIT_CELERY_WAREHOUSE_QUEUE"),
    },
    requirements=dg.multiple_process_executor_requirements(),
)
def celery_executor(init_context):
    """Every step of a run becomes a Celery task on the broker; workers execute them against the shared
    Dagster instance (dagster-postgres) and the warehouse (DATABASE_URL)."""
    config = init_context.executor_config
    return build_executor(config.get("broker"), config.get("backend"), config.get("queue"),
                          config.get("warehouse_queue"))


def monthly_refresh() -> dg.JobDefinition:
    """`monthly_refresh` on the Celery executor: the reconstructable target of `run_month` (a worker
    rebuilds the job through this function; Dagster caches it per process)."""
    from jn_credit_dagster.definitions import defs

    return defs().resolve_job_def("monthly_refresh").with_executor_def(celery_executor)


def run_month(month: str, instance: dg.DagsterInstance, tags: dict | None = None,
              asset_selection: list[dg.AssetKey] | None = None, run_config: dict | None = None,
              ) -> dg.JobExecutionResult:
    """Launch `monthly_refresh` of the month on the Celery workers and wait for it; the instance must be
    the persistent one the workers share (its storage on PostgreSQL)."""
    from jn_credit_dagster.defs import partitions

    if month not in partitions.monthly().get_partition_keys():
        raise ValueError(f"month {month} is outside the partitions "
                         f"({partitions.monthly().get_first_partition_key()} … current month)")
    storage = type(instance.run_storage).__name__
    if "Postgres" not in storage:
        raise ValueError(f"the Celery executor needs the Dagster instance on dagster-postgres that every worker "
                         f"shares (DAGSTER_HOME/dagster.yaml = deploy/dagster.yaml), not {storage}")
    return dg.execute_job(dg.reconstructable(monthly_refresh), instance=instance, run_config=run_config,
                          tags={"dagster/partition": month, "month": month, **(tags or {})},
                          asset_selection=asset_selection)
