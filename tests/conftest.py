"""Shared test setup: a non-interactive matplotlib backend, chosen before anything imports matplotlib."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
