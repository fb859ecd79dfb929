"""Removing what a test queue left on a broker."""

from __future__ import annotations

import redis
from kombu.connection import Connection


def delete_queue(broker_url: str, name: str) -> None:
    """Delete the queue `name` and its same-named exchange/bindings (Celery's defaults)."""
    if broker_url.startswith("redis://"):
        # Kombu's Redis transport keeps the queue (and one list per priority) plus
        # binding sets, all keyed by the queue name: drop them directly.
        client = redis.Redis.from_url(broker_url, socket_timeout=2)
        try:
            keys = list(client.scan_iter(match=f"*{name}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
        return
    with Connection(broker_url, connect_timeout=2) as connection:
        channel = connection.default_channel
        channel.queue_delete(name)
        channel.exchange_delete(name)
