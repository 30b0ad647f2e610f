"""§6.4c: the token's qualification (hsm-preflight), and the rule that a key or a share needs an
earlier fit preflight of the same ceremony."""

from . import formats as F
from .errors import Fail
from .script import ROOT_KEY_ALGORITHMS

PREFLIGHT = "hsm-preflight"
# action -> the preflight sides that qualify the token for it
NEEDS_PREFLIGHT = {
    "generate-key-pair": ("generate",),
    "wrap-and-split-backup": ("generate",),
    "resplit-backup": ("generate",),
    "collect-shares-and-restore": ("restore", "generate"),
    "prove-root-key": ("sign",),
}


def _malformed(seq, reason):
    return Fail("ACTION_MALFORMED", seq, reason)


def require_qualified(seq, action, state):
    """A generate-key-pair, wrap-and-split-backup or resplit-backup entry needs an earlier
    hsm-preflight with side generate; collect-shares-and-restore one with either side."""
    sides = NEEDS_PREFLIGHT.get(action)
    if sides is None:
        return
    done = getattr(state, "preflight_sides", set())
    if not any(s in done for s in sides):
        raise _malformed(seq, f"{action} makes a key or a share, but no earlier hsm-preflight "
                              f"(side {' or '.join(sides)}) found the token fit")


def check(seq, inputs, outputs, state):
    side, alg = inputs.get("side"), inputs.get("algorithm")
    if side not in ("generate", "restore", "sign"):
        raise _malformed(seq, f"inputs.side is {side!r}, not generate, restore or sign")
    if alg not in ROOT_KEY_ALGORITHMS:
        raise _malformed(seq, f"inputs.algorithm {alg!r} is not a root key algorithm of §6.4")
    # "for generate in a ceremony without a source (§6.4b), equals entry 1's settings.algorithm"
    if side == "generate" and state.source is None:
        chosen = state.opening["settings"]["algorithm"]
        if alg != chosen:
            raise _malformed(seq, f"the preflight checked {alg}, but entry 1's "
                                  f"settings.algorithm is {chosen}")
    p = outputs.get("preflight")
    if not isinstance(p, dict):
        raise _malformed(seq, "outputs.preflight is not an object")
    if p.get("fit") is not True:
        raise _malformed(seq, "outputs.preflight.fit is not true")
    if p.get("side") != side:
        raise _malformed(seq, "outputs.preflight.side is not inputs.side")
    passed = p.get("algorithmsPassed")
    if not isinstance(passed, list) or alg not in passed:
        raise _malformed(seq, f"outputs.preflight.algorithmsPassed does not contain {alg}")
    wm = p.get("wrapMechanism")
    if side == "sign" and wm is None:
        pass  # "for sign, also null: a signing ceremony makes no backup"
    elif not (isinstance(wm, dict) and F.is_int(wm.get("code")) and wm["code"] >= 0
            and isinstance(wm.get("name"), str)):
        raise _malformed(seq, "outputs.preflight.wrapMechanism is not {code: integer >= 0, name}")
    checks = p.get("checks")
    if not isinstance(checks, list) or not checks:
        raise _malformed(seq, "outputs.preflight.checks is not a non-empty array")
    status = {}
    for c in checks:
        if not (isinstance(c, dict) and isinstance(c.get("id"), str)
                and c.get("status") in ("pass", "fail", "skip")):
            raise _malformed(seq, "an outputs.preflight.checks item is not {id, title, status, "
                                  "detail} with status pass, fail or skip")
        status[c["id"]] = c["status"]
    if side == "generate":
        needed = ["mechanisms:wrap", "trusted-kek", f"wrap:{alg}", f"untrusted-refused:{alg}",
                  f"restore:{alg}"]
    elif side == "restore":
        needed = ["mechanisms:wrap", f"restore:{alg}", f"untrusted-refused:{alg}"]
    else:
        needed = [f"root-template:{alg}", f"sign:{alg}", f"untrusted-refused:{alg}"]
    for cid in needed:
        if status.get(cid) != "pass":
            raise _malformed(seq, f"outputs.preflight.checks has no {cid!r} with status pass")
    if not hasattr(state, "preflight_sides"):
        state.preflight_sides = set()
    state.preflight_sides.add(side)
