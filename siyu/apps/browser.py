"""Reading the console from a real browser (browser tests, benchmarks, demos).

Panel draws components inside shadow roots, and the console's template shows the page
inside a card that is itself a shadow host, whose shadow root shows the page through a
``<slot>``; ``innerText`` of a page element misses most of what a person sees.
:data:`SHOWN_TEXT_JS` walks shadow roots *and* the content they show through their slots,
and returns the visible text; use it with Playwright: ``locator.evaluate(SHOWN_TEXT_JS)``.
"""

from __future__ import annotations

#: JavaScript ``el => text``: the text a person sees inside ``el``, one line per block of
#: text, in document order: what ``el``'s descendants' shadow roots show, and what a shadow
#: host's own children show through the host's slots. What is hidden (``display: none``,
#: ``visibility: hidden``, a child no slot shows) is left out; an element with no shadow
#: root below it gives its ``innerText``. ``''`` for an element that is not shown.
SHOWN_TEXT_JS = """el => {
    const parts = [];
    const shown = node => getComputedStyle(node).display === 'contents'
        || (node.checkVisibility ? node.checkVisibility({visibilityProperty: true})
                                 : node.getClientRects().length > 0);
    const textShown = text => {
        const range = document.createRange();
        range.selectNodeContents(text);
        return range.getClientRects().length > 0;
    };
    const deep = node => [...node.querySelectorAll('*')].some(d => d.shadowRoot);
    const visit = node => {
        if (['STYLE', 'SCRIPT', 'LINK', 'TEMPLATE'].includes(node.tagName)) return;
        if (!shown(node)) return;
        if (!node.shadowRoot && !deep(node)) {
            const text = (node.innerText || '').trim();
            if (text) parts.push(text);
            return;
        }
        // A shadow host shows its shadow root, and its own children through its slots
        // (a child no slot takes has no box: shown() leaves it out).
        const children = node.shadowRoot ? [...node.shadowRoot.childNodes] : [];
        for (const child of [...children, ...node.childNodes]) {
            if (child.nodeType === Node.TEXT_NODE) {
                if (child.textContent.trim() && textShown(child))
                    parts.push(child.textContent.trim());
            } else if (child.nodeType === Node.ELEMENT_NODE) {
                visit(child);
            }
        }
    };
    visit(el);
    return parts.join('\\n');
}"""
