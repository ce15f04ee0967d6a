"""Failures that name their cause, and which of them deserve another try.

- `TRANSIENT`: database errors a retry can cure (a restart, a dropped or refused connection, a
  serialization conflict). Only these reach a step's RetryPolicy (resources.DB_RETRY).
- `named_failure(what)`: around a step's work, any other exception becomes
  `dg.Failure("<what>: <root cause>", allow_retries=False)` — deterministic, so neither the step's
  retry policy nor (with `retry_on_asset_or_op_failure: false`) the run's retries repeat it.
- `reason(exc)`: one line for a person: the innermost cause, scrubbed (lib/common/privacy.py).
- `unreachable(url)`: None when PostgreSQL at `url` answers within a few seconds, else
  `cannot reach PostgreSQL at host:port: <cause>`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

import dagster as dg
import psycopg2
import psycopg2.errors
import sqlalchemy as sa

from jn_credit_dagster.lib.common.privacy import scrub

TRANSIENT = (psycopg2.OperationalError, psycopg2.InterfaceError, sa.exc.OperationalError,
             sa.exc.InterfaceError, sa.exc.DisconnectionError)
CONNECT_TIMEOUT = 5  # seconds


def reason(exc: BaseException) -> str:
    """The innermost cause of `exc` as one scrubbed line (its type when it has no message)."""
    seen = set()
    while id(exc) not in seen and (exc.__cause__ or exc.__context__) is not None:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    text = " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__
    return scrub(text)


def unreachable(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be reached (None when it answers)."""
    info = sa.engine.make_url(url)
    where = f"{info.host or 'localhost'}:{info.port or 5432}"
    try:
        psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg2.OperationalError as e:
        text = str(e).strip()
        cause = text.split("failed:", 1)[1] if "failed:" in text else text
        cause = cause.strip().splitlines()[0].strip() if cause.strip() else "no answer"
        return scrub(f"cannot reach PostgreSQL at {where}: {cause[:1].lower() + cause[1:]}")
    return None


@contextlib.contextmanager
def named_failure(what: str):
    """Re-raise anything but a transient database error as a non-retried dg.Failure naming `what`."""
    try:
        yield
    except (dg.Failure, dg.RetryRequested):
        raise
    except (dg.DagsterExecutionInterruptedError, KeyboardInterrupt) as e:
        # Ctrl-C, SIGTERM, a run terminated from the UI: Dagster would retry the step under its RetryPolicy,
        # which is not what whoever stopped it asked for
        raise dg.Failure(f"{what}: interrupted", allow_retries=False) from e
    except TRANSIENT as e:
        if not canceled(e):
            raise
        raise dg.Failure(f"{what}: {reason(e)}", allow_retries=False) from e
    except Exception as e:  # noqa: BLE001 - deterministic: the same inputs fail the same way again
        raise dg.Failure(f"{what}: {reason(e)}", allow_retries=False) from e


def canceled(exc: BaseException) -> bool:
    """A statement canceled on request — our own Ctrl-C or SIGTERM (psycopg2 cancels the query it waits
    on), a DBA's pg_cancel_backend — or by a timeout. An OperationalError, yet no transient trouble:
    running it again is what nobody asked for."""
    return isinstance(getattr(exc, "orig", None) or exc, psycopg2.errors.QueryCanceled)


def asset_failures(fn):
    """Decorator for an asset or check body whose first parameter is its context: failures read
    `<asset> <partition>: <cause>` and are not retried unless transient."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        context = args[0] if args else kwargs.get("context")
        what = _what(context)
        with named_failure(what):
            return fn(*args, **kwargs)

    wrapper.__signature__ = inspect.signature(fn)
    return wrapper


def _what(context) -> str:
    try:
        key = context.asset_key.to_user_string()
    except Exception:  # noqa: BLE001 - a multi-asset or op: its name serves
        key = getattr(getattr(context, "op_def", None), "name", "step")
    partition = context.partition_key if getattr(context, "has_partition_key", False) else None
    return f"{key} {partition}" if partition else key


def _error_text(error) -> str:
    """A SerializableErrorInfo's message without its `module.Class: ` prefix, first line only."""
    text = (error.message or "").strip()
    if error.cls_name and ": " in text.split("\n", 1)[0]:
        text = text.split(": ", 1)[1]
    return text.splitlines()[0].strip() if text else error.cls_name or "error"


def run_failure_reason(events) -> str:
    """One line for a failed run's events: the first failed step's own cause — the last try's error
    when it was retried, not `Exceeded max_retries` — prefixed by the step unless the cause names it."""
    failure = next((e for e in events if e.is_step_failure), None)
    if failure is None:
        run_failed = next((e for e in events if e.event_type_value == "RUN_FAILURE"), None)
        return scrub(run_failed.message if run_failed and run_failed.message else "run failed")
    data = failure.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return scrub(data.user_failure_data.description.strip().splitlines()[0])
    error = data.error
    if error is not None and (error.message or "").startswith("Exceeded max_retries"):
        tries = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY" and e.step_key == failure.step_key]
        last = tries[-1].event_specific_data.error if tries else None
        while last is not None and "RetryRequested" in (last.cls_name or "") and last.cause is not None:
            last = last.cause  # the policy's wrapper: what the step itself raised is its cause
        error = last or error
    text = _error_text(error) if error is not None else "failed"
    step = failure.step_key or "step"
    return scrub(text if text.startswith(step) else f"{step}: {text}")
