# syntax=docker/dockerfile:1
# The portal's image: one image for every process (web, worker, beat, the migrations Job); the
# command picks the process. Build: docker build -t registry.example.org/portal:1.4.0 .
#
#   default       gunicorn portal.wsgi on 0.0.0.0:8000 (workers from WEB_CONCURRENCY)
#   worker        celery -A portal worker --queues default,provisioning,periodic --concurrency 2
#   beat          celery -A portal beat --schedule /tmp/celerybeat-schedule   (exactly one)
#   migrations    python manage.py migrate --noinput
#   one-offs      python manage.py verify_audit | health --require schedule | createsuperuser
#
# Nothing secret is in the image: every setting comes from the environment at run time
# (docs/deployment.md wires them from a ConfigMap and a Secret).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compile the wheels that need a compiler (python-ldap) into a virtualenv -------
FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libldap2-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --requirement /tmp/requirements.txt

# --- runtime: the virtualenv, the code, the libraries it loads, and nothing to build with ---
FROM ${PYTHON_IMAGE} AS runtime
# libldap/libsasl for python-ldap; Pango, HarfBuzz and a font for WeasyPrint's PDF reports.
# gettext is not needed: the compiled .mo catalogues are committed (tests/test_translations.py
# keeps them in step with the .po files).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libldap-2.5-0 libsasl2-2 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot without looking up a name.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin portal

COPY --from=builder /opt/venv /opt/venv
# Nothing here is secret. HOME and XDG_CACHE_HOME point at /tmp, the one writable place when the
# root filesystem is read-only (fontconfig keeps its cache there).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=portal.settings \
    PORTAL_PROFILE=production \
    STATIC_ROOT=/app/static \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache

WORKDIR /app
COPY --chown=root:root . /app
# Static files are collected (hashed names, compressed: the production profile's manifest
# storage) and the code compiled once, at build time, as root: the running user cannot change
# them. The production profile refuses to import without a secret key and a checkpoint key, so
# this one command gets throw-away values that live only in its own environment (never ENV,
# never a layer's metadata); nothing they sign outlives the build.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-not-a-secret-0123456789abcdef \
    PORTAL_AUDIT_CHECKPOINT_KEY=build-only-collectstatic-not-a-checkpoint-key \
    python manage.py collectstatic --noinput -v0 \
 && python -m compileall -q /app /opt/venv

USER 10001:10001
EXPOSE 8000
# Sync workers, two per core (docs/operations.md, "Web processes"): gunicorn reads their number
# from WEB_CONCURRENCY. Logs go to stdout. No control socket: the orchestrator starts and stops
# the process, and nobody execs into a pod to steer gunicorn.
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--graceful-timeout", "25", "--timeout", "60", "--no-control-socket"]
