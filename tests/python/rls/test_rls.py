"""Pacekeeper as Envoy's rate limit service: `ShouldRateLimit` seen from a real gRPC client.

Every request pins its instant with the `at` entry (the servers run with
`--trust-client-time`), so no test waits for time to pass. Members are fresh per test; the
`linkedin` preset's numbers used here (presets/linkedin.toml):

* invite: weekly_invitations 100 a week (anchored at the first), invitation_burst 40 in any
  60 minutes (going over starts a restriction), pending_invitations and connections caps;
* message: hourly_messages 20 in any 60 minutes;
* profile_view: daily_profile_views 150 a day (midnight America/Los_Angeles), no penalty.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse

import grpc
import pytest

RPC_TIMEOUT = 5.0  # the deadline of every RPC
DOMAIN = "linkedin"
DAY = "2026-11-23"  # a Monday


def at(hm: str) -> str:
    """An instant on DAY: at("09:30") -> "2026-11-23T09:30:00Z"."""
    return f"{DAY}T{hm}:00Z"


T0 = at("09:00")

# Four invitations of 25, at least 60 minutes apart (so invitation_burst never binds), use up
# the week opened at 09:00; the next invitation, at 14:00, is the 101st.
FILL_WEEK = [("09:00", 25), ("10:30", 25), ("12:00", 25), ("13:30", 25)]
AFTER_WEEK = at("14:00")
WEEK_RESET_AT_1330 = 7 * 86400 - (4 * 3600 + 30 * 60)  # the week closes at 09:00 seven days on


# --------------------------------------------------------------------------------------------
# A client over the generated stub and the same server's HTTP API


class Answer:
    """A `RateLimitResponse`, checked for what every answer must hold."""

    def __init__(self, pb, request, resp):
        self.pb = pb
        self.resp = resp
        codes = pb.rls.RateLimitResponse
        assert resp.overall_code in (codes.OK, codes.OVER_LIMIT), f"overall_code {resp.overall_code} (never UNKNOWN)"
        assert len(resp.statuses) == len(request.descriptors), "one status per descriptor"
        for i, s in enumerate(resp.statuses):
            assert s.code in (codes.OK, codes.OVER_LIMIT), f"statuses[{i}].code {s.code} (never UNKNOWN)"
        self.headers: dict[str, str] = {}
        for h in resp.response_headers_to_add:
            assert h.key == h.key.lower(), f"header key {h.key!r} is not lower-case"
            assert h.key not in self.headers, f"header {h.key!r} repeated"
            self.headers[h.key] = h.value
        self.meta = pb.json_format.MessageToDict(resp.dynamic_metadata)

    @property
    def ok(self) -> bool:
        return self.resp.overall_code == self.pb.rls.RateLimitResponse.OK

    @property
    def over_limit(self) -> bool:
        return self.resp.overall_code == self.pb.rls.RateLimitResponse.OVER_LIMIT

    @property
    def statuses(self):
        return self.resp.statuses

    @property
    def body(self):
        """The JSON in `raw_body`, or None when it is empty."""
        return json.loads(self.resp.raw_body) if self.resp.raw_body else None


class Client:
    def __init__(self, pb, server):
        self.pb = pb
        self.server = server
        self.OK = pb.rls.RateLimitResponse.OK
        self.OVER_LIMIT = pb.rls.RateLimitResponse.OVER_LIMIT
        self.Unit = pb.rls.RateLimitResponse.RateLimit

    # -- building requests

    def desc(self, pairs=None, *, hits=None, negative=False, limit=None, **entries):
        """A descriptor from `entries` (key=value, booleans as true/false) or, to repeat a key
        or leave order to the caller, from a list of `pairs`. `hits` sets the descriptor's
        `hits_addend` (0 included), `limit` a (requests_per_unit, unit) override."""
        if pairs is None:
            pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in entries.items()]
        d = self.pb.ratelimit.RateLimitDescriptor()
        for k, v in pairs:
            d.entries.add(key=k, value=v)
        if hits is not None:
            d.hits_addend.SetInParent()
            d.hits_addend.value = hits
            assert d.HasField("hits_addend")
        if negative:
            d.is_negative_hits = True
        if limit is not None:
            d.limit.requests_per_unit, d.limit.unit = limit
        return d

    def request(self, *descs, domain=DOMAIN, hits=0):
        return self.pb.rls.RateLimitRequest(domain=domain, descriptors=list(descs), hits_addend=hits)

    # -- calling

    def ask(self, *descs, domain=DOMAIN, hits=0, stub=None) -> Answer:
        req = self.request(*descs, domain=domain, hits=hits)
        resp = (stub or self.server.stub).ShouldRateLimit(req, timeout=RPC_TIMEOUT)
        return Answer(self.pb, req, resp)

    def refused(self, req) -> grpc.RpcError:
        """The error `req` must be answered with."""
        with pytest.raises(grpc.RpcError) as e:
            self.server.should(req)
        return e.value

    def http_decide(self, **body):
        """POST /v1/decide: (status, headers, JSON body)."""
        return self.server.post("/v1/decide", body)

    def member(self, member: str, when: str) -> dict:
        q = urllib.parse.quote(member, safe="")
        status, _, body = self.server.get(f"/v1/members/{q}?at={urllib.parse.quote(when)}")
        assert status == 200, body
        return body

    def limit(self, member: str, limit: str, when: str) -> dict:
        """The member's entry for `limit` in GET /v1/members/{id}."""
        limits = {l["name"]: l for l in self.member(member, when)["limits"]}
        assert limit in limits, f"{limit} not among {sorted(limits)}"
        return limits[limit]

    def used(self, member: str, limit: str, when: str) -> int:
        return self.limit(member, limit, when)["used"]


@pytest.fixture
def rls(pb, pacekeeper) -> Client:
    return Client(pb, pacekeeper)


_counter = iter(range(1_000_000))


@pytest.fixture
def new_member(request):
    """`new_member()` -> a member id no other test uses."""
    stem = request.node.originalname.removeprefix("test_")[:40]
    return lambda: f"{stem}-{next(_counter)}-{time.monotonic_ns() % 1_000_000}"


def fill_week_over_http(rls: Client, member: str):
    for hm, cost in FILL_WEEK:
        status, _, body = rls.http_decide(member=member, action="invite", cost=cost, at=at(hm))
        assert status == 200, body


def assert_time_curable_denial(a: Answer, i: int = 0):
    """A 429-kind denial: status i's duration, the Retry-After header, the metadata and the
    body's retry_after all say the same number of seconds."""
    assert a.over_limit
    s = a.statuses[i]
    body = a.body
    assert body is not None and body["allowed"] is False
    assert body["retry_after"] > 0
    assert s.code == a.pb.rls.RateLimitResponse.OVER_LIMIT
    assert s.limit_remaining == 0
    assert s.HasField("duration_until_reset")
    assert (s.duration_until_reset.seconds, s.duration_until_reset.nanos) == (body["retry_after"], 0)
    assert a.headers["retry-after"] == str(body["retry_after"])
    assert a.headers["x-pacekeeper-reason"] == body["reason"]
    assert a.headers["content-type"] == "application/json"
    assert a.meta["retry_after"] == body["retry_after"]
    assert a.meta["reason"] == body["reason"]


def test_the_client_speaks_envoys_rls_proto(pb):
    """The harness itself: the stub comes from Envoy's rls.proto, and a descriptor's explicit
    `hits_addend` of 0 goes on the wire (the check-only tests rely on it)."""
    assert "envoy/service/ratelimit/v3/rls.proto" in pb.files
    assert pb.rls.DESCRIPTOR.services_by_name["RateLimitService"].methods_by_name["ShouldRateLimit"]
    d = Client(pb, server=None).desc(member="m", action="invite", hits=0)
    decoded = pb.ratelimit.RateLimitDescriptor.FromString(d.SerializeToString())
    assert decoded.HasField("hits_addend") and decoded.hits_addend.value == 0
    assert not pb.ratelimit.RateLimitDescriptor.FromString(
        Client(pb, server=None).desc(member="m", action="invite").SerializeToString()
    ).HasField("hits_addend")


# --------------------------------------------------------------------------------------------
# Allowed, over the limit, restricted, on cooldown, blocked until verification


def test_allowed_invitation_is_ok_with_the_binding_limit(rls, new_member):
    m = new_member()
    a = rls.ask(rls.desc(member=m, action="invite", at=T0))
    assert a.ok
    (s,) = a.statuses
    assert s.code == rls.OK
    # The first invitation leaves 99 of 100 for the week and 39 of 40 for the hour: the
    # hourly burst limit is the most constrained one.
    assert s.current_limit.name == "invitation_burst"
    assert s.current_limit.requests_per_unit == 40
    assert s.current_limit.unit == rls.Unit.HOUR
    assert s.limit_remaining == 39
    # Allowed: the binding limit's reset_after (the 09:00 minute leaving the sliding hour).
    reset_after = rls.limit(m, "invitation_burst", T0)["reset_after"]
    assert 3600 <= reset_after <= 3660
    assert (s.duration_until_reset.seconds, s.duration_until_reset.nanos) == (reset_after, 0)
    assert a.resp.raw_body == b""
    assert a.headers["x-pacekeeper-reason"] == "ok"
    assert a.headers["ratelimit"] == f'"invitation_burst";r=39;t={reset_after}'
    assert '"weekly_invitations";q=100;w=604800' in a.headers["ratelimit-policy"]
    # Envoy adds these headers to the upstream's answer on OK: nothing that would clobber it.
    for absent in ("retry-after", "content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert absent not in a.headers
    assert a.meta["reason"] == "ok"
    assert a.meta["limit"] == "invitation_burst"
    assert a.meta["remaining"] == 39
    assert a.meta["member"] == m
    assert a.meta["action"] == "invite"
    assert a.meta["shadow"] is False
    assert a.meta["shadow_denied"] is False
    assert a.meta["fail_open"] is False
    assert "retry_after" not in a.meta
    assert rls.used(m, "weekly_invitations", T0) == 1


def test_the_invitation_after_the_hundredth_of_the_week_is_over_limit(rls, new_member):
    m = new_member()
    for hm, cost in FILL_WEEK:
        a = rls.ask(rls.desc(member=m, action="invite", cost=cost, at=at(hm)))
        assert a.ok, (hm, a.body)
    # The hundredth is allowed and leaves nothing of the week, which now binds.
    s = a.statuses[0]
    assert s.current_limit.name == "weekly_invitations"
    assert s.current_limit.requests_per_unit == 100
    assert s.current_limit.unit == rls.Unit.WEEK
    assert s.limit_remaining == 0
    assert s.duration_until_reset.seconds == WEEK_RESET_AT_1330
    assert rls.used(m, "weekly_invitations", at("13:30")) == 100

    a = rls.ask(rls.desc(member=m, action="invite", at=AFTER_WEEK))
    assert_time_curable_denial(a)
    s = a.statuses[0]
    assert s.current_limit.name == "weekly_invitations"
    assert s.current_limit.requests_per_unit == 100
    assert s.current_limit.unit == rls.Unit.WEEK
    assert a.body["reason"] == "limit_exceeded"
    assert a.body["limit"] == "weekly_invitations"
    assert a.headers["x-pacekeeper-reason"] == "limit_exceeded"
    assert a.meta["limit"] == "weekly_invitations"
    assert a.meta["remaining"] == 0
    assert a.meta["member"] == m
    assert rls.used(m, "weekly_invitations", AFTER_WEEK) == 100


def test_restriction_denial_names_the_penalty(rls, new_member):
    m = new_member()
    fill_week_over_http(rls, m)
    status, _, body = rls.http_decide(member=m, action="invite", at=AFTER_WEEK)
    assert (status, body["reason"]) == (429, "limit_exceeded"), body  # starts the overage restriction

    a = rls.ask(rls.desc(member=m, action="invite", at=at("14:01")))
    assert_time_curable_denial(a)
    s = a.statuses[0]
    assert a.body["reason"] == "restricted"
    assert s.current_limit.name == "restriction:invitation_overage"
    assert s.current_limit.requests_per_unit == 0
    assert s.current_limit.unit == rls.Unit.UNKNOWN
    assert a.headers["x-pacekeeper-reason"] == "restricted"


def test_cooldown_denial(rls, new_member):
    m = new_member()
    status, _, body = rls.http_decide(member=m, action="invite", target="t1", at=T0)
    assert status == 200, body
    status, _, body = rls.server.post(
        "/v1/events", {"member": m, "kind": "invitation_withdrawn", "target": "t1", "at": at("09:05")}
    )
    assert status == 200, body

    a = rls.ask(rls.desc(member=m, action="invite", target="t1", at=at("09:10")))
    assert_time_curable_denial(a)
    s = a.statuses[0]
    assert a.body["reason"] == "cooldown"
    assert s.current_limit.name == "cooldown"
    assert s.current_limit.requests_per_unit == 0
    assert s.current_limit.unit == rls.Unit.UNKNOWN
    assert a.headers["x-pacekeeper-reason"] == "cooldown"

    # Another target is fine.
    assert rls.ask(rls.desc(member=m, action="invite", target="t2", at=at("09:11"))).ok


def test_denial_that_time_does_not_cure_has_no_duration(rls, new_member):
    m = new_member()
    a = rls.ask(rls.desc(member=m, action="invite", target="t", note="slides at https://example.com/deck", at=T0))
    assert a.over_limit
    s = a.statuses[0]
    assert s.code == rls.OVER_LIMIT
    assert s.limit_remaining == 0
    assert not s.HasField("duration_until_reset")
    assert a.body["reason"] == "verification_required"
    assert "retry_after" not in a.body
    assert a.headers["x-pacekeeper-reason"] == "verification_required"
    assert "retry-after" not in a.headers
    assert a.headers["content-type"] == "application/json"
    assert a.meta["reason"] == "verification_required"
    assert "retry_after" not in a.meta


def test_hourly_messages_over_limit_waits_for_the_oldest_minute(rls, new_member):
    m = new_member()
    a = rls.ask(rls.desc(member=m, action="message", cost=20, at=T0))
    assert a.ok
    assert a.statuses[0].current_limit.name == "hourly_messages"
    assert a.statuses[0].current_limit.unit == rls.Unit.HOUR
    assert a.statuses[0].limit_remaining == 0

    a = rls.ask(rls.desc(member=m, action="message", at=at("09:30")))
    assert_time_curable_denial(a)
    s = a.statuses[0]
    assert s.current_limit.name == "hourly_messages"
    assert s.current_limit.requests_per_unit == 20
    assert s.current_limit.unit == rls.Unit.HOUR
    # The 09:00 messages leave the sliding hour once their minute has: 30 to 31 minutes on.
    assert 1800 <= s.duration_until_reset.seconds <= 1860


def test_profile_views_are_counted_per_day(rls, new_member):
    m = new_member()
    a = rls.ask(rls.desc(member=m, action="profile_view", at=T0))
    assert a.ok
    s = a.statuses[0]
    assert s.current_limit.name == "daily_profile_views"
    assert s.current_limit.requests_per_unit == 150
    assert s.current_limit.unit == rls.Unit.DAY
    assert s.limit_remaining == 149
    assert s.duration_until_reset.seconds == rls.limit(m, "daily_profile_views", T0)["reset_after"]


def test_tier_entry_chooses_the_amount(rls, new_member):
    a = rls.ask(rls.desc(member=new_member(), action="message", tier="premium", at=T0))
    assert a.ok
    assert a.statuses[0].current_limit.requests_per_unit == 50
    assert a.statuses[0].limit_remaining == 49


# --------------------------------------------------------------------------------------------
# Several descriptors


def test_statuses_follow_the_order_of_the_descriptors(rls, new_member):
    m = new_member()
    kinds = [("profile_view", "daily_profile_views"), ("message", "hourly_messages"), ("invite", "invitation_burst")]
    for order in (kinds, kinds[::-1]):
        a = rls.ask(*(rls.desc(action=action, member=m, at=T0) for action, _ in order))
        assert a.ok
        assert [s.current_limit.name for s in a.statuses] == [limit for _, limit in order]
        assert all(s.code == rls.OK for s in a.statuses)


def test_entry_order_within_a_descriptor_does_not_matter(rls, new_member):
    m = new_member()
    pairs = [("at", T0), ("cost", "2"), ("action", "profile_view"), ("member", m)]
    a = rls.ask(rls.desc(pairs))
    assert a.ok
    assert a.statuses[0].limit_remaining == 148


def test_several_descriptors_of_one_member_are_all_or_nothing(rls, new_member):
    m = new_member()
    status, _, body = rls.http_decide(member=m, action="message", cost=20, at=T0)
    assert status == 200, body

    # The profile view alone would be allowed, the message is over: nothing is charged.
    a = rls.ask(
        rls.desc(member=m, action="profile_view", cost=3, at=at("09:10")),
        rls.desc(member=m, action="message", at=at("09:10")),
    )
    assert a.over_limit
    assert a.statuses[1].code == rls.OVER_LIMIT
    assert a.statuses[1].current_limit.name == "hourly_messages"
    assert rls.used(m, "daily_profile_views", at("09:10")) == 0
    assert rls.used(m, "hourly_messages", at("09:10")) == 20

    # When every one is allowed, every one is charged.
    a = rls.ask(
        rls.desc(member=m, action="profile_view", cost=3, at=at("10:10")),
        rls.desc(member=m, action="message", at=at("10:10")),
    )
    assert a.ok
    assert rls.used(m, "daily_profile_views", at("10:10")) == 3
    assert rls.used(m, "hourly_messages", at("10:10")) == 1


# --------------------------------------------------------------------------------------------
# Cost: descriptor hits_addend > cost entry > request hits_addend (when > 0) > 1


@pytest.mark.parametrize(
    "desc_hits, cost_entry, request_hits, charged",
    [
        (None, None, 0, 1),
        (None, None, 5, 5),
        (None, 7, 5, 7),
        (3, None, 5, 3),
        (4, 4, 9, 4),
        (None, 6, 0, 6),
    ],
    ids=["default-1", "request-hits", "cost-over-request", "descriptor-over-request", "descriptor-equals-cost", "cost"],
)
def test_cost_precedence(rls, new_member, desc_hits, cost_entry, request_hits, charged):
    m = new_member()
    entries = {"member": m, "action": "profile_view", "at": T0}
    if cost_entry is not None:
        entries["cost"] = cost_entry
    a = rls.ask(rls.desc(hits=desc_hits, **entries), hits=request_hits)
    assert a.ok
    assert a.statuses[0].limit_remaining == 150 - charged
    assert rls.used(m, "daily_profile_views", T0) == charged


def test_request_hits_addend_applies_to_every_descriptor(rls, new_member):
    m = new_member()
    a = rls.ask(
        rls.desc(member=m, action="profile_view", at=T0),
        rls.desc(member=m, action="message", at=T0),
        hits=2,
    )
    assert a.ok
    assert rls.used(m, "daily_profile_views", T0) == 2
    assert rls.used(m, "hourly_messages", T0) == 2


def test_descriptor_hits_addend_zero_checks_without_charging(rls, new_member):
    m = new_member()
    assert rls.ask(rls.desc(member=m, action="profile_view", cost=3, at=T0)).ok
    a = rls.ask(rls.desc(member=m, action="profile_view", at=at("09:01"), hits=0), hits=5)
    assert a.ok
    assert a.statuses[0].current_limit.name == "daily_profile_views"
    assert rls.used(m, "daily_profile_views", at("09:01")) == 3


# --------------------------------------------------------------------------------------------
# dry_run and request_id


def test_dry_run_changes_nothing(rls, new_member):
    m = new_member()
    a = rls.ask(rls.desc(member=m, action="profile_view", cost=4, dry_run=True, at=T0))
    assert a.ok
    assert rls.used(m, "daily_profile_views", T0) == 0

    # A dry run of a denial answers the denial, and starts nothing: the real attempt after it
    # is the first one beyond the week (limit_exceeded), not a restricted one.
    fill_week_over_http(rls, m)
    a = rls.ask(rls.desc(member=m, action="invite", dry_run=True, at=AFTER_WEEK))
    assert_time_curable_denial(a)
    assert a.body["reason"] == "limit_exceeded"
    status, _, body = rls.http_decide(member=m, action="invite", at=at("14:01"))
    assert (status, body["reason"]) == (429, "limit_exceeded"), body

    a = rls.ask(rls.desc(member=m, action="profile_view", cost=4, dry_run=False, at=at("14:02")))
    assert a.ok
    assert rls.used(m, "daily_profile_views", at("14:02")) == 4


def test_request_id_makes_a_retry_charge_once(rls, new_member):
    m = new_member()
    for _ in range(2):
        a = rls.ask(rls.desc(member=m, action="profile_view", cost=5, request_id="req-1", at=T0))
        assert a.ok
    assert rls.used(m, "daily_profile_views", T0) == 5


# --------------------------------------------------------------------------------------------
# Refused requests


def _invalid_cases():
    """(id, build(c, member) -> request, code name, substrings of the details)."""

    def ok(c, m, **kw):
        return c.desc(member=m, action="profile_view", at=T0, **kw)

    return [
        ("no-descriptors", lambda c, m: c.request(), "INVALID_ARGUMENT", []),
        ("empty-domain", lambda c, m: c.request(ok(c, m), domain=""), "INVALID_ARGUMENT", ["domain"]),
        ("unknown-domain", lambda c, m: c.request(ok(c, m), domain="linkedn"), "NOT_FOUND", ["linkedn"]),
        ("unknown-key", lambda c, m: c.request(ok(c, m), ok(c, m, usr="x")), "INVALID_ARGUMENT", ["descriptors[1]", "usr"]),
        ("ignorable-key-not-configured", lambda c, m: c.request(ok(c, m, x_route="r1")), "INVALID_ARGUMENT",
         ["descriptors[0]", "x_route"]),
        ("repeated-key", lambda c, m: c.request(
            c.desc([("member", m), ("action", "profile_view"), ("at", T0), ("member", m + "x")])),
         "INVALID_ARGUMENT", ["descriptors[0]", "member"]),
        ("repeated-key-same-value", lambda c, m: c.request(
            c.desc([("member", m), ("action", "profile_view"), ("at", T0), ("action", "profile_view")])),
         "INVALID_ARGUMENT", ["descriptors[0]", "action"]),
        ("missing-member", lambda c, m: c.request(c.desc(action="profile_view", at=T0)), "INVALID_ARGUMENT", ["member"]),
        ("empty-member", lambda c, m: c.request(c.desc(member="", action="profile_view", at=T0)), "INVALID_ARGUMENT",
         ["member"]),
        ("missing-action", lambda c, m: c.request(c.desc(member=m, at=T0)), "INVALID_ARGUMENT", ["action"]),
        ("unknown-action", lambda c, m: c.request(ok(c, m), c.desc(member=m, action="poke", at=T0)),
         "INVALID_ARGUMENT", ["descriptors[1].action"]),
        ("unknown-tier", lambda c, m: c.request(ok(c, m, tier="gold")), "INVALID_ARGUMENT", ["tier"]),
        ("cost-not-a-number", lambda c, m: c.request(ok(c, m, cost="five")), "INVALID_ARGUMENT", ["cost"]),
        ("negative-cost", lambda c, m: c.request(ok(c, m, cost="-1")), "INVALID_ARGUMENT", ["cost"]),
        ("dry-run-not-a-boolean", lambda c, m: c.request(ok(c, m, dry_run="yes")), "INVALID_ARGUMENT", ["dry_run"]),
        ("at-not-a-timestamp", lambda c, m: c.request(c.desc(member=m, action="profile_view", at="yesterday")),
         "INVALID_ARGUMENT", []),
        ("negative-hits", lambda c, m: c.request(ok(c, m, negative=True)), "INVALID_ARGUMENT", []),
        ("limit-override", lambda c, m: c.request(ok(c, m, limit=(1000, 3))), "INVALID_ARGUMENT", []),
        ("hits-disagree-with-cost", lambda c, m: c.request(ok(c, m, hits=2, cost=3)), "INVALID_ARGUMENT", []),
        ("different-members", lambda c, m: c.request(ok(c, m), ok(c, m + "-other")), "INVALID_ARGUMENT", []),
    ]


@pytest.mark.parametrize("build, code, words", [c[1:] for c in _invalid_cases()], ids=[c[0] for c in _invalid_cases()])
def test_invalid_requests_are_refused_and_charge_nothing(rls, new_member, build, code, words):
    m = new_member()
    err = rls.refused(build(rls, m))
    assert err.code() == getattr(grpc.StatusCode, code), err.details()
    details = err.details() or ""
    for w in words:
        assert w in details, f"{w!r} not in {details!r}"
    assert rls.used(m, "daily_profile_views", T0) == 0


def test_at_is_refused_without_trust_client_time(pb, start_pacekeeper, new_member):
    c = Client(pb, start_pacekeeper(trust_client_time=False))
    err = c.refused(c.request(c.desc(member=new_member(), action="profile_view", at=T0)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    # Without `at` the server's own clock decides.
    assert c.ask(c.desc(member=new_member(), action="profile_view")).ok


# --------------------------------------------------------------------------------------------
# Configuration: [rls] domains, ignore_keys, shadow, x_ratelimit_headers


def test_domain_alias_from_the_config(pb, rls, start_pacekeeper, new_member):
    c = Client(pb, start_pacekeeper('[rls]\ndomains = ["envoy"]\n'))
    m = new_member()
    assert c.ask(c.desc(member=m, action="profile_view", at=T0), domain="envoy").ok
    assert c.ask(c.desc(member=m, action="profile_view", at=T0), domain="linkedin").ok
    assert c.used(m, "daily_profile_views", T0) == 2
    err = c.refused(c.request(c.desc(member=m, action="profile_view", at=T0), domain="other"))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    # Without the alias in its config, a server knows only the policy's name.
    err = rls.refused(rls.request(rls.desc(member=m, action="profile_view", at=T0), domain="envoy"))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "envoy" in (err.details() or "")


def test_ignore_keys_from_the_config(pb, start_pacekeeper, new_member):
    c = Client(pb, start_pacekeeper('[rls]\nignore_keys = ["remote_address", "x_route"]\n'))
    m = new_member()
    a = c.ask(c.desc(member=m, action="profile_view", remote_address="10.0.0.7", x_route="r1", at=T0))
    assert a.ok
    assert c.used(m, "daily_profile_views", T0) == 1
    # Keys not listed are still refused.
    err = c.refused(c.request(c.desc(member=m, action="profile_view", usr="x", at=T0)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "usr" in (err.details() or "")


def test_shadow_mode_charges_but_answers_ok(pb, start_pacekeeper, new_member):
    c = Client(pb, start_pacekeeper("[rls]\nshadow = true\n"))
    m = new_member()
    a = c.ask(c.desc(member=m, action="message", cost=20, at=T0))
    assert a.ok
    assert (a.meta["shadow"], a.meta["shadow_denied"]) == (True, False)
    assert c.used(m, "hourly_messages", T0) == 20

    a = c.ask(c.desc(member=m, action="message", at=at("09:30")))
    assert a.ok, "shadow mode answers OK for what it would deny"
    assert (a.meta["shadow"], a.meta["shadow_denied"]) == (True, True)
    assert "retry-after" not in a.headers
    assert c.used(m, "hourly_messages", at("09:30")) == 20  # the would-be denial charged nothing

    # Shadow mode is the gRPC front's: the HTTP API still enforces.
    status, _, body = c.http_decide(member=m, action="message", at=at("09:31"))
    assert status == 429, body


def test_x_ratelimit_headers_only_when_configured(pb, rls, start_pacekeeper, new_member):
    a = rls.ask(rls.desc(member=new_member(), action="message", at=T0))
    assert not any(k.startswith("x-ratelimit-") for k in a.headers)

    c = Client(pb, start_pacekeeper("[rls]\nx_ratelimit_headers = true\n"))
    g, h = new_member(), new_member()
    for cost, when in ((18, T0), (1, at("09:10")), (5, at("09:20"))):  # allowed, allowed, denied
        a = c.ask(c.desc(member=g, action="message", cost=cost, at=when))
        status, headers, _ = c.http_decide(member=h, action="message", cost=cost, at=when)
        assert a.ok == (status == 200)
        for k in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert a.headers[k] == headers[k], k


# --------------------------------------------------------------------------------------------
# The same decision over gRPC and over HTTP


@pytest.mark.parametrize(
    "setup, final",
    [
        ([], {"action": "invite", "at": T0}),
        ([], {"action": "message", "cost": 3, "at": T0}),
        ([{"action": "profile_view", "cost": 30, "at": T0}], {"action": "profile_view", "at": at("09:05")}),
        ([{"action": "message", "cost": 20, "at": T0}], {"action": "message", "at": at("09:30")}),
        ([{"action": "invite", "cost": c, "at": at(hm)} for hm, c in FILL_WEEK], {"action": "invite", "at": AFTER_WEEK}),
        ([], {"action": "invite", "target": "t", "note": "see www.example.com", "at": T0}),
    ],
    ids=["invite-ok", "message-ok", "profile-view-ok", "messages-over", "week-over", "verification"],
)
def test_headers_and_body_match_the_http_answer(rls, new_member, setup, final):
    g, h = new_member(), new_member()
    for body in setup:
        for m in (g, h):
            status, _, answer = rls.http_decide(member=m, **body)
            assert status == 200, answer

    a = rls.ask(rls.desc(member=g, **final))
    status, headers, body = rls.http_decide(member=h, **final)

    assert a.ok == (status == 200)
    assert a.headers["ratelimit-policy"] == headers["ratelimit-policy"]
    assert a.headers["ratelimit"] == headers["ratelimit"]
    assert a.headers.get("retry-after") == headers.get("retry-after")
    assert a.headers["x-pacekeeper-reason"] == body["reason"]
    assert a.meta["reason"] == body["reason"]
    s = a.statuses[0]
    if body["reason"] in ("ok", "limit_exceeded", "cap_reached"):
        assert s.current_limit.name == body["limit"]
    if status == 200:
        assert a.resp.raw_body == b""
        assert "content-type" not in a.headers
        binding = next(l for l in body["limits"] if l["name"] == body["limit"])
        assert s.limit_remaining == binding["remaining"]
        assert s.current_limit.requests_per_unit == binding["amount"]
        assert s.duration_until_reset.seconds == binding.get("reset_after", 0)
        assert a.meta["remaining"] == binding["remaining"]
    else:
        assert a.body == body, "raw_body is the HTTP API's decision JSON"
        assert a.headers["content-type"] == "application/json"
        if status == 429:
            assert s.duration_until_reset.seconds == body["retry_after"]
            assert headers["retry-after"] == str(body["retry_after"])
        else:
            assert status == 403
            assert not s.HasField("duration_until_reset")
            assert "retry-after" not in a.headers


def test_a_grpc_charge_shows_over_http_and_an_http_charge_over_grpc(rls, new_member):
    m = new_member()
    assert rls.ask(rls.desc(member=m, action="profile_view", cost=5, at=T0)).ok
    view = rls.limit(m, "daily_profile_views", at("09:01"))
    assert (view["used"], view["remaining"]) == (5, 145)

    status, _, body = rls.http_decide(member=m, action="profile_view", cost=10, at=at("09:02"))
    assert status == 200, body
    a = rls.ask(rls.desc(member=m, action="profile_view", at=at("09:03")))
    assert a.ok
    assert a.statuses[0].limit_remaining == 150 - 5 - 10 - 1
    assert rls.used(m, "daily_profile_views", at("09:04")) == 16


# --------------------------------------------------------------------------------------------
# Concurrency


@pytest.mark.parametrize("cost, calls_per_thread", [(1, 3), (3, 2)])
def test_64_concurrent_callers_are_admitted_exactly_the_amount(pb, rls, new_member, cost, calls_per_thread):
    threads_n, amount = 64, 150
    m = new_member()
    stubs = [rls.server.new_stub(pb) for _ in range(8)]
    start = threading.Barrier(threads_n, timeout=30)
    codes, errors, lock = [], [], threading.Lock()

    def caller(i: int):
        stub = stubs[i % len(stubs)]
        try:
            start.wait()
            for _ in range(calls_per_thread):
                a = rls.ask(rls.desc(member=m, action="profile_view", cost=cost, at=T0), stub=stub)
                with lock:
                    codes.append(a.resp.overall_code)
        except Exception as e:  # reported below: a thread's exception would be lost
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "callers still running after 60 s"
    assert errors == []
    admitted = amount // cost
    assert len(codes) == threads_n * calls_per_thread
    assert codes.count(rls.OK) == admitted
    assert codes.count(rls.OVER_LIMIT) == len(codes) - admitted
    assert rls.used(m, "daily_profile_views", T0) == admitted * cost


# --------------------------------------------------------------------------------------------
# Store unreachable (Redis)


def _redis_config(url: str, fail_mode: str) -> str:
    return f'store = "redis"\nfail_mode = "{fail_mode}"\n\n[redis]\nurls = ["{url}"]\ntimeout_ms = 100\n'


def _timed(c: Client, member: str, when: str):
    """One RPC with a 2 s deadline: (answer or error, seconds taken)."""
    req = c.request(c.desc(member=member, action="profile_view", at=when))
    t = time.monotonic()
    try:
        out = c.server.should(req, timeout=2.0)
    except grpc.RpcError as e:
        out = e
    return out, time.monotonic() - t


def _wait_for_recovery(c: Client, member: str):
    """After Redis is back, decisions succeed again (the client reconnects by itself)."""
    deadline = time.monotonic() + 15
    while True:
        out, _ = _timed(c, member, at("12:00"))
        if not isinstance(out, grpc.RpcError):
            assert out.overall_code == c.OK
            return
        assert time.monotonic() < deadline, f"still failing 15 s after Redis came back: {out.code()}"
        time.sleep(0.2)


def test_store_unreachable_is_unavailable_fast(pb, redis_server, start_pacekeeper, new_member):
    redis = redis_server()
    c = Client(pb, start_pacekeeper(_redis_config(redis.url, "closed")))
    m = new_member()
    assert c.ask(c.desc(member=m, action="profile_view", at=T0)).ok
    assert c.used(m, "daily_profile_views", T0) == 1

    redis.stop()
    for i in range(3):
        out, took = _timed(c, m, at(f"10:0{i}"))
        assert isinstance(out, grpc.RpcError), "an answer without a store"
        assert out.code() == grpc.StatusCode.UNAVAILABLE, (out.code(), out.details())
        assert took < 1.5, f"UNAVAILABLE after {took:.2f} s"

    redis.start()  # same port; also lets the server stop cleanly
    _wait_for_recovery(c, new_member())


def test_store_unreachable_fail_open_answers_ok_flagged(pb, redis_server, start_pacekeeper, new_member):
    redis = redis_server()
    c = Client(pb, start_pacekeeper(_redis_config(redis.url, "open")))
    m = new_member()
    a = c.ask(c.desc(member=m, action="profile_view", at=T0))
    assert a.ok
    assert a.meta["fail_open"] is False

    redis.stop()
    out, took = _timed(c, m, at("10:00"))
    if isinstance(out, grpc.RpcError):
        pytest.fail(f"fail-open answered {out.code()}: {out.details()}")
    assert took < 1.5, f"answered after {took:.2f} s"
    req = c.request(c.desc(member=m, action="profile_view", at=at("10:00")))
    a = Answer(pb, req, out)
    assert a.ok
    assert a.meta["fail_open"] is True
    assert a.meta["reason"] == "store_unavailable"
    assert a.headers["x-pacekeeper-reason"] == "store_unavailable"
    assert "retry-after" not in a.headers

    redis.start()
    _wait_for_recovery(c, new_member())
