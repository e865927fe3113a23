"""Reading the console from a real browser (browser tests, benchmarks, demos).

Panel draws components inside shadow roots, so ``innerText`` of a page element misses most
of what a person sees. :data:`SHOWN_TEXT_JS` walks the shadow roots and returns the visible
text; use it with Playwright: ``locator.evaluate(SHOWN_TEXT_JS)``.
"""

from __future__ import annotations

#: JavaScript ``el => text``: the text a person sees inside ``el``, shadow roots included.
SHOWN_TEXT_JS = """el => {
    const parts = [];
    const visit = node => {
        if (["STYLE", "SCRIPT", "LINK", "TEMPLATE"].includes(node.tagName)) return;
        if (node.shadowRoot) {
            for (const child of node.shadowRoot.children) visit(child);
            return;
        }
        if ([...node.querySelectorAll("*")].some(d => d.shadowRoot)) {
            for (const child of node.children) visit(child);
            return;
        }
        const text = (node.innerText || "").trim();
        if (text) parts.push(text);
    };
    visit(el);
    return parts.join("\\n");
}"""
