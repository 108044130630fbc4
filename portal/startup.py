"""What a web process does once it has loaded, before its first request.

Django, the apps, their models and the URL patterns live as long as the process: about 200,000
objects the garbage collector walked at every full collection, which stalled the answer it fell
in for 165 ms, about once in 400 answers of the server detail API (measured in a web process on
the benchmark's portal). Frozen (``gc.freeze``), they are left out of every collection, and a
full one walks only what requests left behind. Nothing frozen is lost: what the process holds
at start-up it holds to the end.
"""

from __future__ import annotations

import gc


def set_apart_what_lasts() -> int:
    """Build what the first request would build (the URL patterns and their reverse map),
    collect what loading left, and freeze the rest. Returns how many objects are frozen."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - builds the patterns and the reverse map
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
