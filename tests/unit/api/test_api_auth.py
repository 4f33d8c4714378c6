"""API keys and the per-key token bucket."""

import hashlib

import pytest
from coinstream_api.auth import KeyRing, RateLimiter, owner_of, parse_keys, presented_key
from coinstream_common.web import ApiError

pytestmark = pytest.mark.unit


def test_key_comes_from_either_header():
    assert presented_key({"X-API-Key": " k1 "}) == "k1"
    assert presented_key({"Authorization": "Bearer k2"}) == "k2"
    assert presented_key({"Authorization": "bearer k3"}) == "k3"
    assert presented_key({"Authorization": "Basic abc"}) is None
    assert presented_key({}) is None


def test_owner_is_a_hash_never_the_key():
    ring = KeyRing(parse_keys(" a-key , other ,"))
    owner = ring.authenticate({"X-API-Key": "a-key"})
    assert owner == hashlib.sha256(b"a-key").hexdigest() == owner_of("a-key")
    assert "a-key" not in owner
    with pytest.raises(ApiError) as missing:
        ring.authenticate({})
    assert missing.value.status == 401 and missing.value.code == "unauthenticated"
    with pytest.raises(ApiError) as wrong:
        ring.authenticate({"X-API-Key": "a-ke"})
    assert wrong.value.status == 401 and wrong.value.code == "invalid_api_key"


def test_token_bucket_bursts_then_refills():
    now = [1000.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # burst 60, one token per second
    assert all(limiter.acquire("k") == 0.0 for _ in range(60))
    wait = limiter.acquire("k")
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("other") == 0.0
    now[0] += 0.5
    with pytest.raises(ApiError) as limited:
        limiter.check("k")
    assert limited.value.status == 429 and limited.value.headers["Retry-After"] == "1"
    now[0] += 1.0
    assert limiter.acquire("k") == 0.0
    now[0] += 3600
    assert sum(limiter.acquire("k") == 0.0 for _ in range(100)) == 60  # never more than the burst
