"""
WSGI config for portal project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after the setup above)

if settings.IS_PRODUCTION:
    from portal.production import refuse_to_start_if_unsafe

    refuse_to_start_if_unsafe()

# Set apart what the process keeps to its end, so the collector no longer walks it
# (portal.startup).
from portal.startup import set_apart_what_lasts  # noqa: E402

set_apart_what_lasts()
