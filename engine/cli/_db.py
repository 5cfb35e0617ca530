"""``shiftboss db migrate|status``: the store's schema, on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli._common import EXIT_CONFIG
from engine.cli._engine_cmds import CONFIG_OPTION, load_or_exit
from engine.output import emit_json, fail

store_option = click.option("--store", "store_url", metavar="URL",
                            help="A PostgreSQL URL (postgresql://user@host/db; the password from store.password_env "
                                 "/ password_file or SHIFTBOSS_PG_PASSWORD) instead of the configured store.")


def _settings(config_path: Path | None, store_url: str | None) -> Any:
    return load_or_exit(config_path, {"store.url": store_url} if store_url else None)


def _open(settings: Any) -> Any:
    from engine.errors import DatabaseUnusable
    from engine.store import Store
    from engine.store._pg import redact

    try:
        return Store.open(settings.store_target, password=settings.store_password())
    except DatabaseUnusable as exc:
        fail(str(exc), EXIT_CONFIG)
    except OSError as exc:
        fail(f"{redact(str(settings.store_target))}: {exc}", EXIT_CONFIG)


@click.group()
def db() -> None:
    """The store's database: migrate it, or show what it holds."""


@db.command("migrate")
@CONFIG_OPTION
@store_option
def migrate(config_path: Path | None, store_url: str | None) -> None:
    """Create or upgrade the store's schema (engines do this at start too; a schema newer than
    this Shiftboss is refused). Engines starting together on one PostgreSQL database migrate
    one at a time."""
    from engine.store import SCHEMA_VERSION
    from engine.store._pg import redact

    settings = _settings(config_path, store_url)
    store = _open(settings)
    store.close()
    click.echo(f"{redact(str(settings.store_target))}: schema version {SCHEMA_VERSION}")


@db.command("status")
@CONFIG_OPTION
@store_option
@click.option("--json", "as_json", is_flag=True)
def status(config_path: Path | None, store_url: str | None, as_json: bool) -> None:
    """The store's backend, schema version, database id, jobs by state and last event."""
    from engine.store import SCHEMA_VERSION, queries
    from engine.store._pg import redact

    settings = _settings(config_path, store_url)
    store = _open(settings)
    try:
        counts = store.read_now(queries.state_counts)
        last = store.read_now(queries.last_seq)
    finally:
        store.close()
    states: dict[str, int] = {}
    for (_pool, state), n in counts.items():
        states[state] = states.get(state, 0) + n
    report = {"backend": "postgresql" if store.postgres else "sqlite", "where": redact(str(settings.store_target)),
              "schema_version": SCHEMA_VERSION, "database_id": store.database_id, "jobs": states, "last_event": last}
    if as_json:
        emit_json(report)
        return
    click.echo(f"{report['backend']} {report['where']}\n  schema version {SCHEMA_VERSION}, database {store.database_id}"
               f"\n  last event {last}\n  jobs " + (", ".join(f"{s} {n}" for s, n in sorted(states.items())) or "none"))
