"""The Dockerfile builds a multi-stage, non-root image with its static files and no secret."""

from __future__ import annotations

import pytest

from tests.deploy.dockerfile import DOCKERFILE, dockerfile_problems, final_stage_env

GOOD = """\
FROM python:3.11-slim AS builder
RUN pip wheel -r requirements.txt
FROM python:3.11-slim
ENV STATIC_ROOT=/app/static
RUN DJANGO_SECRET_KEY=throwaway \\
    python manage.py collectstatic --noinput
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi"]
"""


def test_the_dockerfile_holds_every_rule():
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_the_image_collects_static_files_where_the_settings_look():
    assert final_stage_env(DOCKERFILE.read_text())["STATIC_ROOT"] == "/app/static"


def test_the_hand_made_good_one_passes():
    assert dockerfile_problems(GOOD) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("FROM python:3.11-slim AS builder\n", ""), "multi-stage"),
        (lambda t: t.replace("USER 10001:10001\n", ""), "no USER"),
        (lambda t: t.replace("USER 10001:10001", "USER 0"), "non-zero numeric"),
        (lambda t: t.replace("USER 10001:10001", "USER portal"), "non-zero numeric"),
        (lambda t: t.replace("collectstatic", "check"), "collectstatic"),
        (lambda t: t + "ENV DJANGO_SECRET_KEY=abc\n", "ENV DJANGO_SECRET_KEY"),
        (lambda t: t + "ENV EMAIL_HOST_PASSWORD hunter2\n", "ENV EMAIL_HOST_PASSWORD"),
        (lambda t: t + "ARG API_TOKEN=abc\n", "ARG API_TOKEN"),
        (lambda t: t + "ENV A=1 PORTAL_AUDIT_CHECKPOINT_KEY=x\n", "PORTAL_AUDIT_CHECKPOINT_KEY"),
        (lambda t: t.replace("EXPOSE 8000", "EXPOSE 80"), "EXPOSE 8000"),
        (lambda t: t.replace('"gunicorn", ', ""), "gunicorn"),
    ],
)
def test_a_broken_dockerfile_is_caught(change, problem):
    problems = dockerfile_problems(change(GOOD))
    assert any(problem in p for p in problems), problems


def test_a_secret_named_arg_without_a_value_is_allowed():
    """A build argument declared without a default holds nothing in the image's metadata."""
    assert (
        dockerfile_problems(
            GOOD.replace("FROM python:3.11-slim\n", "FROM python:3.11-slim\nARG PIP_TOKEN\n")
        )
        == []
    )
