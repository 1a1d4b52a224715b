"""``_nextToken``: a signed cursor that only the query which issued it can use."""

from __future__ import annotations

import base64

import pytest
from workflowsvc import paging
from workflowsvc.errors import BadRequest

SECRET = b"k" * 32
FINGERPRINT = '[["first_tchgt1VU"],null,null,[],null,null,[["_createdAt",-1]],10]'
POSITION = {"o": 10, "k": "2026-02-10T08:09:00.000000000Z#45649b94-4f71-4599-b8fb-d1759c02fd30"}


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_reads_back_its_position():
    token = paging.encode(POSITION, FINGERPRINT, SECRET)
    assert paging.decode(token, FINGERPRINT, SECRET) == POSITION


def test_a_token_fits_in_a_query_string_as_it_is():
    token = paging.encode(POSITION, FINGERPRINT, SECRET)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_changing_any_byte_of_a_token_makes_it_refused():
    raw = _raw(paging.encode(POSITION, FINGERPRINT, SECRET))
    for index in range(len(raw)):
        altered = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        with pytest.raises(BadRequest) as refused:
            paging.decode(_token(altered), FINGERPRINT, SECRET)
        assert refused.value.message.startswith("_nextToken:")


def test_a_forged_position_is_refused():
    raw = _raw(paging.encode(POSITION, FINGERPRINT, SECRET))
    forged = raw[:16] + b'{"o":0,"k":"9999"}'
    with pytest.raises(BadRequest):
        paging.decode(_token(forged), FINGERPRINT, SECRET)


@pytest.mark.parametrize(
    "fingerprint",
    [
        FINGERPRINT.replace("first_tchgt1VU", "second_ns"),
        FINGERPRINT.replace("-1]]", "1]]"),
        FINGERPRINT.replace("[],", '["FAILED"],'),
        FINGERPRINT.replace(",10]", ",20]"),
    ],
)
def test_a_token_of_another_query_is_refused(fingerprint):
    token = paging.encode(POSITION, FINGERPRINT, SECRET)
    with pytest.raises(BadRequest):
        paging.decode(token, fingerprint, SECRET)


def test_a_token_signed_with_another_key_is_refused():
    token = paging.encode(POSITION, FINGERPRINT, b"another-key")
    with pytest.raises(BadRequest):
        paging.decode(token, FINGERPRINT, SECRET)


@pytest.mark.parametrize("token", ["", "abc", "not a token", "!!!!", "é", "A" * 21, "=" * 8, "e30"])
def test_garbage_is_refused_not_an_error(token):
    with pytest.raises(BadRequest) as refused:
        paging.decode(token, FINGERPRINT, SECRET)
    assert refused.value.code == "INVALID_TOKEN"
