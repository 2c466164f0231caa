"""A browser tab on the live site, and the rules every public page must meet.

The rules come from the issue: the page is Chinese, mobile-first and
accessible (labels, keyboard, contrast), and loads nothing from anywhere
but our own origin. :meth:`Site.capture` keeps a screenshot of the page as
a test artefact first, so a failing page can be looked at, then checks them.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request, Response

# Helpers of the checks below, run in the page: CSS colours as [r, g, b, alpha],
# blending, WCAG relative luminance and contrast ratio, and the colour an
# element is drawn on (the background colours of it and its ancestors, blended
# from the canvas, white, inwards).
COLOURS = """
  const parse = (css) => {
    const m = /^rgba?\\(([^)]*)\\)$/.exec(css);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    const mix = (i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.backgroundImage !== "none") return "background image on " + e.tagName;
      const colour = parse(style.backgroundColor);
      if (colour === null) return "unreadable background " + style.backgroundColor;
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] === 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const ratio = (a, b) => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
"""

# Run in the page. For every visible element with text of its own (and every
# filled-in input), the contrast ratio of its colour against its background.
# Large text (24px, or 18.66px bold) needs 3:1, all other text 4.5:1 (WCAG
# 2.1 success criterion 1.4.3, level AA).
CONTRAST = """() => {""" + COLOURS + """  const failures = [];
  let checked = 0;
  for (const element of document.body.querySelectorAll("*")) {
    const own = [...element.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.data.trim());
    const filled = element.tagName === "INPUT" && element.type !== "hidden" && element.value;
    if (!(own || filled)) continue;
    if (!element.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const rect = element.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(element);
    const text = (element.innerText || element.value || "").trim().slice(0, 40);
    const bg = background(element);
    const fg = parse(style.color);
    if (typeof bg === "string" || fg === null) {
      failures.push({text, problem: typeof bg === "string" ? bg : "unreadable colour " + style.color});
      continue;
    }
    const contrast = ratio(over(fg, bg), bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    checked += 1;
    if (contrast < needed) {
      failures.push({text, tag: element.tagName, color: style.color,
                     background: "rgb(" + bg.slice(0, 3).map(Math.round).join(", ") + ")",
                     ratio: Math.round(contrast * 100) / 100, needed});
    }
  }
  return {checked, failures};
}"""

# Run in the page: how the focused element shows its focus. Its outline is
# drawn outside it, on whatever lies there, and needs 3:1 against that
# (WCAG 2.1 success criterion 1.4.11, non-text contrast). Null when nothing
# on the page has the focus.
FOCUS_RING = """() => {""" + COLOURS + """  const element = document.activeElement;
  if (element === null || element === document.body) return null;
  const style = getComputedStyle(element);
  // What is drawn just outside its left edge, where the outline goes.
  const box = element.getBoundingClientRect();
  const around = document.elementsFromPoint(Math.max(0, box.left - 4), box.top + box.height / 2)
    .find((e) => e !== element && !element.contains(e)) || element.parentElement;
  const bg = background(around);
  const colour = parse(style.outlineColor);
  const contrast = typeof bg === "string" || colour === null ? 0 : ratio(over(colour, bg), bg);
  return {element: element.id || element.textContent.trim().slice(0, 20), style: style.outlineStyle,
          ratio: Math.round(contrast * 100) / 100};
}"""

# Run in the page: every visible form control a person fills in has a label.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((e) => e.type !== "hidden" && e.checkVisibility())
  .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label"))
  .map((e) => e.name || e.id)"""


class Site:
    """One tab on a live server, recording every request and every console message."""

    def __init__(self, page: Page, origin: str, viewport: str, artifacts: Path) -> None:
        self.page, self.origin, self.viewport, self.artifacts = page, origin, viewport, artifacts
        self.requests: list[str] = []
        self.problems: list[str] = []
        self._documents: set[str] = set()
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("requestfailed", self._failed)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _response(self, response: Response) -> None:
        if response.request.is_navigation_request():
            self._documents.add(response.url)
        elif response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def _failed(self, request: Request) -> None:
        # ERR_ABORTED: the test moved on (a click, a goto) while the page was
        # still loading. A blocked request fails differently (ERR_BLOCKED_BY_CSP).
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        # Chromium logs a page answered with 400, 404 or 429 as a failed
        # resource; the test that asked for such a page checks its status.
        if message.text.startswith("Failed to load resource") and message.location["url"] in self._documents:
            return
        # CSP violations ("Refused to load …", "Refused to apply inline style …") land here too.
        self.problems.append(f"console {message.type}: {message.text}")

    def goto(self, path: str) -> Response | None:
        return self.page.goto(self.origin + path)

    def capture(self, name: str) -> None:
        """Keep a full-page screenshot as ``NAME-VIEWPORT.png``, then check the page rules."""
        self.page.screenshot(path=self.artifacts / f"{name}-{self.viewport}.png", full_page=True)
        page = self.page
        assert page.evaluate("document.documentElement.lang") == "zh-CN", "the page must declare Chinese"
        foreign = [url for url in self.requests if not url.startswith(self.origin + "/")]
        assert not foreign, f"requests outside {self.origin} (no external assets or CDNs): {foreign}"
        assert not self.problems, f"errors while loading the page: {self.problems}"
        scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{name} scrolls sideways on the {self.viewport}: {scroll}px > {inner}px"
        assert page.evaluate(UNLABELLED) == [], "every form field needs a label"
        contrast = page.evaluate(CONTRAST)
        assert contrast["checked"] >= 5, f"contrast check found little text on {name}: {contrast}"
        assert contrast["failures"] == [], f"text below WCAG AA contrast on {name}: {contrast['failures']}"
