"""docs/robots.md: its Python examples run as written, and the receiver example accepts
what the webhook channel really sends."""

import re
from pathlib import Path

DOC = Path(__file__).parent.parent.parent / "docs" / "robots.md"


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = blocks()
    assert len(found) == 3
    for block in found:
        exec(compile(block, "docs/robots.md", "exec"), {})


def test_the_receiver_example_takes_a_real_webhook_call_once(ws, tmp_path):
    import http.server
    import threading

    from siyu.core.records import OutgoingMessage
    from siyu.plugins.robots import configure_webhook

    namespace: dict = {}
    exec(compile(blocks()[0], "docs/robots.md", "exec"), namespace)
    namespace["SECRET"] = "a-secret-of-the-receiver"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), namespace["SiyuWebhook"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        configure_webhook(ws, url=f"http://127.0.0.1:{server.server_address[1]}/hook",
                          secret="a-secret-of-the-receiver")
        message = OutgoingMessage(delivery_id=1, key="5:contact:9", campaign_id=5,
                                  channel="webhook", recipient="contact:9", contact_id=9,
                                  text="hi")
        first = ws.hook.send(ws=ws, channel="webhook", batch=[message])
        again = ws.hook.send(ws=ws, channel="webhook", batch=[message])
    finally:
        server.shutdown()
        server.server_close()
    assert [(r.status, r.provider_id) for r in first + again] == [
        ("sent", "5:contact:9"), ("sent", "5:contact:9")]
    assert namespace["seen"] == {"5:contact:9"}
