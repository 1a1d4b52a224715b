"""How the store packs documents: what was stored once must read back the same in every later version."""

from __future__ import annotations

import pytest
from workflowsvc.store import dynamo

RUN = {
    "_id": "5f0c1f7e-8a56-4a57-9a77-0d1c2b3a4f5e",
    "_name": "nightly",
    "_status": "COMPLETED",
    "_tasks": [
        {"_name": "fetch", "_type": "REST_CONNECTOR", "_status": "COMPLETED", "_output": {"_statusCode": 200}}
    ],
    "_namespaces": ["tenant-a"],
}

# RUN as the first packing (zlib with the first preset dictionary) stored it. Were the dictionary changed,
# zlib would refuse it: documents already stored would no longer read.
RUN_PACKED_WITH_DICTIONARY_1 = bytes.fromhex(
    "0178bb57f31faf83d1a66906c98669e6a9ba1689a666ba2689a6e6ba9689e6e6ba062986c94649c6892669a6a948619207323fa7"
    "1277cc218527544b5a6a49728612beb0c36e12ee945f5b1b8b911781493b1198b81395626b0116ab4415"
)


def test_a_document_stored_by_the_first_packing_reads_back() -> None:
    assert dynamo.document({"doc": {"B": RUN_PACKED_WITH_DICTIONARY_1}}) == RUN


def test_a_packed_document_reads_back_as_written() -> None:
    document = {**RUN, "_inputParams": {"_url": "http://127.0.0.1:8080/", "note": "é ✓", "n": 1.5}}
    assert dynamo.document({"doc": dynamo.packed(document)}) == document


def test_a_document_packed_a_way_this_version_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="packed in a way this version does not read"):
        dynamo.document({"doc": {"B": b"\x07" + RUN_PACKED_WITH_DICTIONARY_1[1:]}})


def test_the_dictionary_makes_a_run_smaller_than_zlib_alone() -> None:
    import zlib

    text = dynamo.compact_json(RUN).encode()
    assert len(dynamo.packed(RUN)["B"]) < len(zlib.compress(text, 6))
