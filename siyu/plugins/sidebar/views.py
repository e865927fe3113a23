"""The sidebar's pages: plain HTML for a phone-width WebView, every value escaped.

The page that looks up the open chat (``shell``), the customer page (card, tags, a note,
quick replies) and the message pages (not set up, not your customer…). Script behaviour lives
in ``static/sidebar.js``; what it says comes from ``data-msg-*`` attributes, so every word the
guide reads is in this plugin's catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from siyu.apps.safe import Safe, html, join
from siyu.apps.standalone import styled_document
from siyu.core.i18n import translator
from siyu.plugins.customers.labels import ORDER_STATUSES, money, word

_ = translator("siyu.plugins.sidebar")

STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:FONTS;font-size:15px;color:#1f2328;background:#f3f5f8}
main{max-width:560px;margin:0 auto;padding:10px 10px 56px}
section{background:#fff;border-radius:8px;padding:12px;margin:0 0 10px;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:19px;margin:0} h2{font-size:15px;margin:0 0 8px;color:#0f3d66}
.muted{color:#667;font-size:13px} .row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.kpis{display:grid;grid-template-columns:repeat(3,1fr);gap:6px;margin-top:10px}
.kpi{background:#eef4fb;border-radius:6px;padding:6px;text-align:center}
.kpi b{display:block;font-size:16px} .kpi span{font-size:12px;color:#556}
.chip{display:inline-flex;align-items:center;gap:4px;background:#e8f1fb;color:#0f3d66;
border-radius:12px;padding:2px 4px 2px 10px;margin:0 4px 6px 0;font-size:13px}
.chip button{border:0;background:none;color:#667;font-size:15px;padding:0 6px;cursor:pointer}
select,input[type=search],textarea{width:100%;font:inherit;padding:8px;border:1px solid #c5ccd6;
border-radius:6px;background:#fff}
textarea{min-height:64px;resize:vertical}
button.primary,button.send{font:inherit;border:0;border-radius:6px;background:#0078d4;color:#fff;
padding:8px 14px;cursor:pointer;white-space:nowrap}
button.send{padding:6px 12px;font-size:14px}
button:disabled{opacity:.5}
form.inline{display:flex;gap:8px;margin-top:6px} form.inline select{flex:1}
ul.plain{list-style:none;margin:0;padding:0} ul.plain li{padding:6px 0;border-top:1px solid #eef0f3}
ul.plain li:first-child{border-top:0}
.reply{display:flex;gap:8px;align-items:flex-start;justify-content:space-between}
.reply .body{flex:1;min-width:0} .reply .text{color:#445;font-size:13px;white-space:pre-wrap;
word-break:break-word;max-height:4.2em;overflow:hidden}
.reply img{max-width:96px;max-height:72px;border-radius:4px;display:block;margin-top:4px}
details{border-top:1px solid #eef0f3;padding:6px 0} details:first-of-type{border-top:0}
summary{cursor:pointer;font-weight:600;color:#0f3d66}
.status{position:fixed;left:0;right:0;bottom:8px;max-width:540px;margin:0 auto;padding:10px;
text-align:center;font-size:14px;background:#e9f7ef;color:#1e6b3a;border-radius:6px;
box-shadow:0 2px 8px rgba(0,0,0,.12)}
.status.bad{background:#fdecea;color:#b00020} .status:empty{display:none}
.notice{background:#fff;border-radius:8px;padding:18px;margin-top:24px;text-align:center}
.notice a{color:#0078d4} .notice p.bad{color:#b00020}
"""

#: What the script says, by ``data-msg-*`` name.
def script_messages() -> dict[str, str]:
    """The script's words in the reader's language."""
    return {
        "finding": _("Finding the customer of this chat…"),
        "not-chat": _("Open the sidebar from a chat with one customer to see their card."),
        "no-sdk": _("The WeCom JS-SDK did not load: open this page from WeCom's chat "
                    "toolbar."),
        "failed": _("WeCom refused: {reason}"),
        "sending": _("Sending…"),
        "sent": _("Sent to the chat."),
        "cancelled": _("Not sent."),
    }


def _attrs(values: Mapping[str, Any]) -> Safe:
    return join(" ", [html('{k}="{v}"', k=k, v=v) for k, v in values.items()])


def page(title: str, body: Safe, *, view: str, csrf: str = "", scripts: Sequence[str] = (),
         status: str = "", status_bad: bool = False) -> str:
    """A complete sidebar page around ``body``."""
    attrs = {"data-view": view, "data-csrf": csrf,
             **{f"data-msg-{k}": v for k, v in script_messages().items()}}
    tags = join("", [html('<script src="{src}"></script>', src=src) for src in scripts])
    inner = html('<main>{body}</main><p class="{status_class}" id="sidebar-status" '
                 'role="status" aria-live="polite">{status}</p>{scripts}', body=body,
                 status=status, status_class="status bad" if status_bad else "status",
                 scripts=tags)
    return styled_document(title, inner, STYLE, body_attrs=_attrs(attrs))


def shell(scripts: Sequence[str], csrf: str) -> str:
    """The page WeCom opens: it asks the JS-SDK which customer the chat is with."""
    body = html('<div class="notice siyu-sidebar-finding"><p>{finding}</p></div>',
                finding=_("Finding the customer of this chat…"))
    return page(_("Customer"), body, view="shell", csrf=csrf, scripts=scripts)


def notice(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    """A page that only says something (and may offer one link)."""
    more = html('<p><a href="{href}">{label}</a></p>', href=link[0], label=link[1]) \
        if link else Safe("")
    body = html('<div class="notice siyu-sidebar-notice"><h1>{title}</h1><p>{text}</p>'
                '{more}</div>', title=title, text=text, more=more)
    return page(title, body, view="notice")


def _time(value: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(tz).strftime(fmt) if value else "—"


def _hidden(**values: Any) -> Safe:
    return join("", [html('<input type="hidden" name="{k}" value="{v}">', k=k, v=v)
                     for k, v in values.items()])


def customer(card: Any, *, tz: ZoneInfo, csrf: str, scripts: Sequence[str],
             all_tags: Iterable[str], notes: Sequence[Mapping[str, Any]],
             replies: Sequence[Mapping[str, Any]] | None, status: str = "",
             status_bad: bool = False) -> str:
    """The customer page: who they are, their orders, tags, notes and quick replies."""
    key = _hidden(contact=card.contact_id, csrf=csrf)
    return page(card.title, join("", [
        _profile(card, tz), _tags(card, key, all_tags), _notes(notes, key, tz),
        _replies(replies), _orders(card, tz), _journey(card, tz)]),
        view="customer", csrf=csrf, scripts=scripts, status=status, status_bad=status_bad)


def _profile(card: Any, tz: ZoneInfo) -> Safe:
    p, totals = card.profile, card.order_totals
    owner = card.owner
    facts = [x for x in (p.get("phone"), p.get("city"), p.get("store_name"),
                         _("owner {name}", name=owner["name"] or owner["userid"])
                         if owner else None) if x]
    kpis = [(str(totals.get("paid_orders") or 0), _("orders")),
            (money(totals.get("revenue_fen")), _("spent")),
            (_time(totals.get("last_order_at"), tz, "%Y-%m-%d"), _("last purchase"))]
    return html(
        '<section class="siyu-sidebar-profile"><h1>{name}</h1><p class="muted">{facts}</p>'
        '<p class="muted">{added}</p><div class="kpis">{kpis}</div></section>',
        name=card.title, facts=" · ".join(facts),
        added=_("added {when}", when=_time(p.get("added_at"), tz, "%Y-%m-%d")),
        kpis=join("", [html('<div class="kpi"><b>{v}</b><span>{k}</span></div>', v=v, k=k)
                       for v, k in kpis]))


def _tags(card: Any, key: Safe, all_tags: Iterable[str]) -> Safe:
    have = [f"{t['group']}/{t['name']}" for t in card.tags]
    chips = join("", [html(
        '<form class="chip siyu-sidebar-tag" method="post" action="/sidebar/customer/tags">'
        '{key}<input type="hidden" name="tag" value="{tag}">'
        '<input type="hidden" name="action" value="remove"><span>{tag}</span>'
        '<button type="submit" title="{remove}" aria-label="{remove}">×</button></form>',
        key=key, tag=tag, remove=_("Remove {tag}", tag=tag)) for tag in have])
    choices = [t for t in all_tags if t not in have]
    options = join("", [html('<option value="{t}">{t}</option>', t=t) for t in choices])
    add = html(
        '<form class="inline siyu-sidebar-add-tag" method="post" '
        'action="/sidebar/customer/tags">{key}<input type="hidden" name="action" value="add">'
        '<select name="tag" aria-label="{label}">{options}</select>'
        '<button class="primary" type="submit">{add}</button></form>',
        key=key, label=_("Tag to add"), options=options, add=_("Add tag")) \
        if choices else Safe("")
    empty = html('<p class="muted">{t}</p>', t=_("No tags yet.")) if not have else Safe("")
    return html('<section class="siyu-sidebar-tags"><h2>{title}</h2>{chips}{empty}{add}'
                '</section>', title=_("Tags"), chips=chips, empty=empty, add=add)


def _notes(notes: Sequence[Mapping[str, Any]], key: Safe, tz: ZoneInfo) -> Safe:
    items = join("", [html('<li><div>{text}</div><div class="muted">{when} · {by}</div></li>',
                           text=n["text"], when=_time(n["at"], tz),
                           by=n.get("userid") or n.get("by") or "—") for n in notes[:5]])
    from siyu.plugins.customers.notes import MAX_NOTE

    return html(
        '<section class="siyu-sidebar-notes"><h2>{title}</h2>'
        '<form method="post" action="/sidebar/customer/note">{key}'
        '<textarea name="text" maxlength="{limit}" required placeholder="{hint}" '
        'aria-label="{title}"></textarea>'
        '<div class="row" style="justify-content:flex-end;margin-top:6px">'
        '<button class="primary" type="submit">{save}</button></div></form>'
        '<ul class="plain">{items}</ul></section>',
        title=_("Notes"), key=key, limit=MAX_NOTE,
        hint=_("What colleagues should know about this customer"), save=_("Save note"),
        items=items)


def _replies(replies: Sequence[Mapping[str, Any]] | None) -> Safe:
    if replies is None:
        return Safe("")
    if not replies:
        return html('<section class="siyu-sidebar-replies"><h2>{title}</h2>'
                    '<p class="muted">{empty}</p></section>', title=_("Quick replies"),
                    empty=_("The quick-reply library is empty; operators add replies on the "
                            "Quick replies page."))
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for reply in replies:
        groups.setdefault(reply["category"], []).append(reply)
    blocks = []
    for i, (category, items) in enumerate(groups.items()):
        rows = join("", [_reply(r) for r in items])
        blocks.append(html('<details class="siyu-sidebar-category" {open}><summary>{c} '
                           '<span class="muted">{n}</span></summary><ul class="plain">'
                           '{rows}</ul></details>',
                           open=Safe("open") if i == 0 else Safe(""), c=category,
                           n=len(items), rows=rows))
    return html('<section class="siyu-sidebar-replies"><h2>{title}</h2>'
                '<input type="search" class="siyu-sidebar-search" placeholder="{search}" '
                'aria-label="{search}">{blocks}</section>', title=_("Quick replies"),
                search=_("Search quick replies"), blocks=join("", blocks))


def _reply(r: Mapping[str, Any]) -> Safe:
    if r["kind"] == "image":
        body = html('<img alt="{title}" src="/sidebar/replies/{id}/image" loading="lazy">',
                    title=r["title"], id=r["id"])
    else:
        body = html('<div class="text">{text}</div>', text=r.get("text") or "")
    return html(
        '<li class="reply siyu-sidebar-reply" data-search="{search}"><div class="body">'
        '<b>{title}</b>{body}</div><button class="send" type="button" data-reply="{id}" '
        'data-kind="{kind}" data-text="{text}">{send}</button></li>',
        search=f"{r['title']} {r.get('text') or ''}".lower(), title=r["title"], body=body,
        id=r["id"], kind=r["kind"], text=r.get("text") or "", send=_("Send"))


def _orders(card: Any, tz: ZoneInfo) -> Safe:
    rows = card.orders.head(3).to_dict("records")
    if not rows:
        return html('<section class="siyu-sidebar-orders"><h2>{t}</h2><p class="muted">{e}'
                    '</p></section>', t=_("Recent orders"), e=_("No orders yet."))
    items = join("", [html('<li><div class="row" style="justify-content:space-between">'
                           '<span>{when}</span><b>{amount}</b></div>'
                           '<div class="muted">{status} · {store}</div></li>',
                           when=_time(o.get("paid_at"), tz), amount=money(o.get("amount_fen")),
                           status=word(ORDER_STATUSES, o.get("status")),
                           store=o.get("store_name") or o.get("source") or "—")
                      for o in rows])
    return html('<section class="siyu-sidebar-orders"><h2>{t}</h2><ul class="plain">{items}'
                '</ul></section>', t=_("Recent orders"), items=items)


def _journey(card: Any, tz: ZoneInfo) -> Safe:
    rows = card.timeline.head(6).to_dict("records")
    if not rows:
        return Safe("")
    items = join("", [html('<li><div>{what}</div><div class="muted">{when}</div></li>',
                           what=r.get("what") or "", when=_time(r.get("time"), tz))
                      for r in rows])
    return html('<section class="siyu-sidebar-journey"><h2>{t}</h2><ul class="plain">{items}'
                '</ul></section>', t=_("Journey"), items=items)
