"""The access token, shared by replicas: fetched once however many ask at once, never logged."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

import pytest

from bot.channels.wechat.api import WeChatApi, WeChatApiError
from bot.channels.wechat.shared import LocalValues, RedisValues
from tests.e2e.wechat_stub import APP_ID, APP_SECRET, WeChatApiStub

REDIS = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def stub():
    s = WeChatApiStub().start()
    yield s
    s.stop()


@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.skipif(
    not REDIS, reason="TEST_REDIS_URL not set"))])
async def test_replicas_asking_at_once_fetch_one_token(stub, backend, caplog):
    caplog.set_level(logging.DEBUG)
    values = LocalValues() if backend == "memory" else RedisValues(REDIS, prefix=f"test-wechat-{uuid.uuid4().hex}:")
    replicas = [WeChatApi(stub.base_url, APP_ID, APP_SECRET, values) for _ in range(2)]
    for api in replicas:
        await api.start()
    try:
        tokens = await asyncio.gather(*(api.token() for api in replicas for _ in range(3)))
        await replicas[1].send_text("oResident0001", "你好")
    finally:
        for api in replicas:
            await api.close()
        if backend == "redis":
            await values.delete(f"token:{APP_ID}")
            await values.close()
    assert len(set(tokens)) == 1 and stub.token_calls == 1 and len(stub.sent) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert APP_SECRET not in logged and tokens[0] not in logged


async def test_a_wrong_secret_is_an_error_naming_the_code(stub):
    api = WeChatApi(stub.base_url, APP_ID, "wrong", LocalValues())
    await api.start()
    try:
        with pytest.raises(WeChatApiError) as refused:
            await api.send_text("oResident0001", "你好")
    finally:
        await api.close()
    assert refused.value.errcode == 40125 and "wrong" not in str(refused.value)


async def test_an_unreachable_api_is_an_error_without_the_url(stub):
    api = WeChatApi("http://127.0.0.1:1", APP_ID, APP_SECRET, LocalValues(), timeout=1.0)
    await api.start()
    try:
        with pytest.raises(WeChatApiError) as failed:
            await api.token()
    finally:
        await api.close()
    assert APP_SECRET not in str(failed.value) and failed.value.errcode is None
