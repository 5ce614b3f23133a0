"""schemathesis hooks for tests/tests/openapi.rs.

A check of our own, run on every request with the built-in ones: a request
the API refused (4xx) changed nothing in the replicated state.

A refusal is decided either before anything is proposed (no log entry, so
nothing can change) or by the state machine, which refuses a command by
leaving the state as it was; such a reply carries `X-Hodei-Index`, the
refused entry's index. The leader's applied index and state hash are read
before each write and after a refusal (the leader has applied every entry it
answered for). If the refused entry is the only one applied in between and
the hash moved, that entry changed the state. When the leader's own loops
(burst expiry ticks) wrote in between, the request cannot be judged alone
and is skipped.
"""

import json
import os
import urllib.request

import schemathesis

NODE = os.environ["HODEI_NODE_URL"]
TOKEN = os.environ["HODEI_ADMIN_TOKEN"]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

_before = {}


def leader_state():
    """(leader id, applied index, state hash) as the leader reports them."""
    request = urllib.request.Request(f"{NODE}/api/v1/cluster", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        status = json.load(reply)
    leader = status["leader_id"]
    member = next(m for m in status["members"] if m["id"] == leader)
    return leader, member["applied_index"], member["state_hash"]


@schemathesis.hook
def before_call(context, case, kwargs):
    # Settings changes may start the sampler, whose writes would show here;
    # the test fuzzes that operation last, on its own.
    if case.method.upper() in WRITES and case.path != "/api/v1/observability/config":
        _before[id(case)] = leader_state()


@schemathesis.check
def refused_requests_change_nothing(ctx, response, case):
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return None
    after = leader_state()
    (leader, index, digest), (leader_after, index_after, digest_after) = before, after
    own = response.headers.get("x-hodei-index")
    own = int(own[0] if isinstance(own, list) else own) if own else None
    if own is None or leader != leader_after or index_after - index != 1 or own != index_after:
        return None
    if digest_after != digest:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code} for entry {own} but the state changed: "
            f"(leader, applied index, state hash) {before} -> {after}"
        )
    return None
