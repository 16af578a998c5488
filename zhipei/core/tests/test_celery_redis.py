"""Background work: inline by default; through a real Redis broker when one is configured."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from zhipei.celery import app
from zhipei.core.tasks import ping

REDIS_URL = os.getenv("ZHIPEI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[3]


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_without_a_broker_tasks_run_inline():
    assert not settings.CELERY_BROKER_URL
    assert app.conf.task_always_eager is True
    assert ping.delay().get() == "pong"


@pytest.mark.redis
def test_a_real_task_goes_through_redis_to_a_worker_process(tmp_path):
    if not redis_up():
        if os.getenv("CI"):
            pytest.fail("Redis must run on 127.0.0.1:6379 in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    queue = f"zhipei-test-{uuid.uuid4().hex[:8]}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        CELERY_BROKER_URL=REDIS_URL, CELERY_RESULT_BACKEND=REDIS_URL, ZHIPEI_DATA_DIR=str(tmp_path)
    )
    # The project's own worker, configured only through the environment, as in production.
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "zhipei",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = Celery("zhipei-test-client", broker=REDIS_URL, backend=REDIS_URL)
    try:
        result = client.send_task("zhipei.core.tasks.ping", queue=queue)
        assert result.get(timeout=60) == "pong"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        client.close()
