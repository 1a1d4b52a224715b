"""Who is calling and which namespaces they may use: JWT claims and nsfilter."""

from __future__ import annotations

import pytest
from workflowsvc.errors import BadRequest, Forbidden, Unauthorized
from workflowsvc.identity import MAX_NAMESPACES_PER_REQUEST, Caller, caller_from_claims, parse_nsfilter

SUB = "c9daff7e-b55b-41ec-aa46-d0150f3199dc"


# ------------------------------------------------------------------ claims


@pytest.mark.parametrize(
    "claims",
    [None, {}, {"namespaces": "[first_tchgt1VU]"}, {"sub": ""}, {"sub": "   "}, {"sub": None}],
    ids=["none", "empty", "no-sub", "empty-sub", "blank-sub", "null-sub"],
)
def test_no_subject_is_unauthorized(claims):
    with pytest.raises(Unauthorized):
        caller_from_claims(claims, "namespaces")


@pytest.mark.parametrize(
    "claim",
    [
        '["first_tchgt1VU","second_ns"]',
        '[ "first_tchgt1VU", "second_ns" ]',
        "first_tchgt1VU,second_ns",
        "first_tchgt1VU, second_ns",
        "first_tchgt1VU second_ns",
        "  first_tchgt1VU   second_ns  ",
        "[first_tchgt1VU second_ns]",
        "[first_tchgt1VU,second_ns]",
        ["first_tchgt1VU", "second_ns"],
        ("first_tchgt1VU", "second_ns"),
    ],
    ids=repr,
)
def test_every_form_of_the_namespaces_claim(claim):
    caller = caller_from_claims({"sub": SUB, "namespaces": claim}, "namespaces")
    assert caller.granted == frozenset({"first_tchgt1VU", "second_ns"})
    assert caller.subject == SUB
    assert not caller.all_namespaces


@pytest.mark.parametrize("claim", ["*", '["*"]', "[*]", ["*"], "first_tchgt1VU *"], ids=repr)
def test_a_star_grants_every_namespace(claim):
    caller = caller_from_claims({"sub": SUB, "namespaces": claim}, "namespaces")
    assert caller.all_namespaces
    caller.authorize(("any_namespace", "another.one"))


@pytest.mark.parametrize("claim", [None, "", "[]", '""', "[ ]"], ids=repr)
def test_no_namespaces_grants_none(claim):
    claims = {"sub": SUB} if claim is None else {"sub": SUB, "namespaces": claim}
    caller = caller_from_claims(claims, "namespaces")
    with pytest.raises(Forbidden):
        caller.authorize(("first_tchgt1VU",))


def test_the_claim_name_is_configurable():
    claims = {"sub": SUB, "custom:ns": "[team_a]", "namespaces": "[team_b]"}
    assert caller_from_claims(claims, "custom:ns").granted == frozenset({"team_a"})


def test_the_subject_is_trimmed():
    assert caller_from_claims({"sub": f"  {SUB} "}, "namespaces").subject == SUB


def test_authorize_refuses_the_first_namespace_not_granted_naming_it():
    caller = Caller(subject=SUB, granted=frozenset({"first_tchgt1VU"}))
    caller.authorize(("first_tchgt1VU",))
    with pytest.raises(Forbidden) as refused:
        caller.authorize(("first_tchgt1VU", "third_ns"))
    assert "third_ns" in refused.value.message
    assert "nsfilter" in refused.value.message


def test_a_prefix_of_a_granted_namespace_is_not_granted():
    caller = Caller(subject=SUB, granted=frozenset({"first_tchgt1VU"}))
    for other in ("first", "first_tchgt1V", "first_tchgt1VU2", "FIRST_TCHGT1VU"):
        with pytest.raises(Forbidden):
            caller.authorize((other,))


# ------------------------------------------------------------------ nsfilter


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_nsfilter_is_refused(value):
    with pytest.raises(BadRequest) as refused:
        parse_nsfilter(value)
    assert "nsfilter" in refused.value.message
    assert refused.value.code == "MISSING_NSFILTER"


def test_nsfilter_names_namespaces_in_order_once_each():
    assert parse_nsfilter("first_tchgt1VU") == ("first_tchgt1VU",)
    assert parse_nsfilter("first_tchgt1VU,second_ns") == ("first_tchgt1VU", "second_ns")
    assert parse_nsfilter(" second_ns , first_tchgt1VU ") == ("second_ns", "first_tchgt1VU")
    assert parse_nsfilter("a,b,a") == ("a", "b")
    assert parse_nsfilter("team.eu-west_1") == ("team.eu-west_1",)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("first ns", "first ns"),
        ("a,,b", "''"),
        ("a,", "''"),
        ("ns!", "ns!"),
        ("_leading", "_leading"),
        ("a;b", "a;b"),
        ("x" * 129, "x" * 40),
    ],
)
def test_a_malformed_nsfilter_is_refused_naming_the_value(value, named):
    with pytest.raises(BadRequest) as refused:
        parse_nsfilter(value)
    assert "nsfilter" in refused.value.message
    assert named in refused.value.message


def test_nsfilter_names_at_most_ten_namespaces():
    names = [f"ns{index}" for index in range(MAX_NAMESPACES_PER_REQUEST + 1)]
    assert len(parse_nsfilter(",".join(names[:-1]))) == MAX_NAMESPACES_PER_REQUEST
    with pytest.raises(BadRequest):
        parse_nsfilter(",".join(names))
    assert parse_nsfilter("x" * 128) == ("x" * 128,)
