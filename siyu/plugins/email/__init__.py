"""The ``email`` delivery channel: campaign messages over SMTP, with one-click unsubscribe.

Modules:

- :mod:`~siyu.plugins.email.config` — the SMTP settings (``save_config``, ``load_config``);
- :mod:`~siyu.plugins.email.addresses` — checking an e-mail address;
- :mod:`~siyu.plugins.email.compose` — building a message (text and HTML parts, headers);
- :mod:`~siyu.plugins.email.tokens` — the signed unsubscribe token;
- :mod:`~siyu.plugins.email.smtp` — one SMTP connection and what its answers mean;
- :mod:`~siyu.plugins.email.channel` — ``send`` for a batch, and ``send_test``;
- :mod:`~siyu.plugins.email.unsubscribe` — the ``email_unsubscribe`` table's door;
- :mod:`~siyu.plugins.email.routes` — the public unsubscribe page;
- :mod:`~siyu.plugins.email.commands` — ``siyu email``; :mod:`~.plugin` — the hooks.
"""
