"""Background work: inline by default; through a real Redis broker when one is configured."""

import os
import socket

import pytest
from django.conf import settings

from zhipei.celery import app

REDIS_URL = os.getenv("ZHIPEI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_without_a_broker_tasks_run_inline():
    assert not settings.CELERY_BROKER_URL
    assert app.conf.task_always_eager is True


@app.task(name="zhipei.tests.add")
def add(x: int, y: int) -> int:
    return x + y


@pytest.mark.redis
def test_a_real_task_goes_through_redis():
    if not redis_up():
        if os.getenv("CI"):
            pytest.fail("Redis must run on 127.0.0.1:6379 in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    from celery.contrib.testing.worker import start_worker

    old = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            result = add.delay(2, 40)
            assert result.get(timeout=20) == 42
            assert result.backend.__class__.__name__ == "RedisBackend"
    finally:
        app.conf.update(**old)
