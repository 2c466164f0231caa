"""The public status of a ticket (办理进度): ``/status`` and ``GET /api/v1/tickets/<number>``.

A complainant gives the ticket number and the phone number or e-mail address
they left when it was filed, and learns where the matter stands: the step,
the responsible unit and its published channels, the running deadline. The
answer holds nothing personal, and one answer serves every miss, so the page
tells no one which tickets exist.

``inputs`` parses what was typed (pure), ``query`` reads the answer,
``limits`` guards both, ``views`` and ``api`` answer the page and the JSON
API, ``blueprint`` holds the URL rules.
"""
