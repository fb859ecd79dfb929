"""The columns every table of hashed user secrets starts with.

Refresh tokens and personal tokens (auth/models.py) and web sessions (web/models.py) are
each a secret handed to one user: only its SHA-256 is stored, so a copy of the table signs
no one in, and the row goes when the user goes. The shape lives here, below both domains,
because each domain alone owns its table (see the import-linter contracts).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import new_id


class HashedUserSecret:
    """Mixin: `id` primary key, the owning `user_id` (cascade), the unique `token_hash`."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
