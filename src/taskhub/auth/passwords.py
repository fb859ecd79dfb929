"""Argon2 password hashing via pwdlib, off the event loop.

Hashes run in anyio's worker threads (the default limiter: 40 at once, shared with
the rest of the process), so a burst of logins queues instead of spawning threads.
"""

from __future__ import annotations

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))
        # Verified when the email is unknown, so "no such user" costs what "wrong
        # password" costs and response timing does not reveal which accounts exist.
        self._dummy = self._hash.hash("taskhub-dummy-password-for-timing")

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            await to_thread.run_sync(self._hash.verify, password, self._dummy)
            return False
        try:
            return await to_thread.run_sync(self._hash.verify, password, hashed)
        except Exception:  # a corrupt stored hash must not become a 500
            return False
