"""The console's landing page: the user's work queue (hotline.console.queues)."""

from __future__ import annotations

from hotline.console import queues
from hotline.console.access import login_required
from hotline.console.blueprint import bp


@bp.route("/")
@login_required
def home() -> tuple[str, int]:
    return queues.queue_page()
