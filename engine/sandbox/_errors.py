"""The sandbox's errors.

::

    SandboxError
     ├── Refused       the job cannot be run as given (archive, manifest); the message names the field
     └── Unavailable   this host cannot isolate foreign code (and ``sandbox = "none"`` was not set)
"""

from __future__ import annotations


class SandboxError(Exception):
    """Root of the sandbox's errors."""


class Refused(SandboxError):
    """The job cannot be run as given (bad archive or manifest); the message says why."""


class Unavailable(SandboxError):
    """This host cannot give the isolation foreign code needs; the message says what is missing
    and how to get it (or how to run without, knowingly: ``sandbox = "none"``)."""
