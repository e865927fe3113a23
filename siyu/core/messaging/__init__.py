"""Campaign → outbox → risk checks → channel send → delivery events.

:mod:`~siyu.core.messaging.content` checks and fills a campaign's text,
:mod:`~siyu.core.messaging.launch` writes the outbox, :mod:`~siyu.core.messaging.outbox`
drains it exactly once and :mod:`~siyu.core.messaging.results` measures what it did.
"""
