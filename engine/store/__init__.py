"""The durable store: SQLite in WAL mode, one group-commit writer, pooled readers."""

from engine.store import _ops as ops
from engine.store import _queries as queries
from engine.store._db import SCHEMA_VERSION
from engine.store._ops import AttemptRef, Claimed, NewJob, Outcome, OutcomeName
from engine.store._queries import where_in
from engine.store._store import Store
from engine.store._writer import Tx

__all__ = ["SCHEMA_VERSION", "AttemptRef", "Claimed", "NewJob", "Outcome", "OutcomeName", "Store", "Tx", "ops", "queries", "where_in"]
