"""Group robots (群机器人) and a signed webhook: two delivery channels.

- ``robot`` sends a campaign's text to the group robots the operator registered (WeCom,
  Feishu, DingTalk; more kinds through :func:`~siyu.plugins.robots.kinds.register_kind`),
  keeping each robot under its provider's per-minute limit across processes;
- ``webhook`` POSTs each message, signed, to an integrator's URL.

Modules:

- :mod:`~siyu.plugins.robots.models` — the ``robot`` and ``robot_send`` tables (own Alembic
  history ``robots``);
- :mod:`~siyu.plugins.robots.kinds` — each provider's JSON and answers;
- :mod:`~siyu.plugins.robots.store` — the notebook door: :func:`add_robot`, :func:`robots`,
  :func:`remove_robot`, :func:`test_robot`;
- :mod:`~siyu.plugins.robots.channel` — sending through ``robot`` (the rate limit);
- :mod:`~siyu.plugins.robots.webhook` — the ``webhook`` channel, :func:`configure_webhook`
  and :func:`verify_signature` for receivers;
- :mod:`~siyu.plugins.robots.commands` — ``siyu robot``; :mod:`~.plugin` — the hooks.

See ``docs/robots.md``.
"""

from siyu.plugins.robots.store import add_robot, remove_robot, robot_rows, robots, test_robot
from siyu.plugins.robots.webhook import configure_webhook, verify_signature, webhook_settings

__all__ = ["add_robot", "configure_webhook", "remove_robot", "robot_rows", "robots",
           "test_robot", "verify_signature", "webhook_settings"]
