"""§5: reading the ceremony script (check §7.1.3, SCRIPT_UNREADABLE).

The spec says the script is YAML 1.2 (core schema) and that PyYAML's YAML 1.1 safe_load gives
the same data *for every script Custos accepts*, because Custos refuses anchors, aliases, merge
keys, tags and plain scalars whose 1.1 and 1.2 readings could differ. A verifier cannot know that
the text it is given was accepted by Custos (the header is not signed, and a forger writes their
own), so this module first checks that the text is inside that common subset, and refuses it
(SCRIPT_UNREADABLE) otherwise: outside the subset, PyYAML may not read what Custos read.
Duplicate mapping keys are refused for the same reason (YAML 1.2 forbids them; PyYAML keeps the
last).
"""

import re

import yaml
from yaml.resolver import Resolver

from .errors import Fail
from .formats import ROLE_ID, STEP_ID, full

WHO = ("one", "all", "quorum")
ENROL = "enrol-participants"
SEAL = "seal-transcript"

_STR = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()  # PyYAML's YAML 1.1 implicit resolvers
_ALLOWED_PLAIN = re.compile(r"true|false|[-+]?(?:0|[1-9][0-9]*)")
_YAML11_EXTRA = re.compile(r"y|Y|n|N")  # 1.1 booleans PyYAML does not resolve
_YAML12_CORE_NON_STR = re.compile(
    r"null|Null|NULL|~|"
    r"true|True|TRUE|false|False|FALSE|"
    r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|"
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|"
    r"[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN")


def _unreadable(reason):
    return Fail("SCRIPT_UNREADABLE", None, reason)


def _check_subset(text):
    """Refuse what YAML 1.1 (PyYAML) and YAML 1.2 core could read differently."""
    try:
        events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise _unreadable(f"not YAML: {exc}".splitlines()[0]) from exc
    for ev in events:
        if isinstance(ev, yaml.AliasEvent):
            raise _unreadable("YAML alias")
        if isinstance(ev, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if ev.anchor is not None:
                raise _unreadable("YAML anchor")
            if ev.tag is not None:  # only an explicit tag sets it (PyYAML's parser)
                raise _unreadable(f"YAML tag {ev.tag}")
        if isinstance(ev, yaml.ScalarEvent) and ev.style is None:  # plain scalar
            v = ev.value
            if _ALLOWED_PLAIN.fullmatch(v):
                continue
            tag11 = _RESOLVER.resolve(yaml.ScalarNode, v, (True, False))
            if tag11 != _STR or _YAML11_EXTRA.fullmatch(v) or v == "" \
                    or _YAML12_CORE_NON_STR.fullmatch(v):
                raise _unreadable(f"plain scalar {v!r} may read differently in YAML 1.1 and 1.2")


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise _unreadable(f"duplicate key {key!r}")
                seen.add(key)
            except TypeError as exc:
                raise _unreadable("unhashable mapping key") from exc
        return super().construct_mapping(node, deep)


class Script:
    """The members of §5 a verifier uses."""

    def __init__(self, data):
        self.id = data["id"]
        self.version = data["version"]
        self.title = data["title"]
        self.roles = {r["id"]: (r["min"], r.get("max")) for r in data["roles"]}
        self.separation = [tuple(p) for p in data["separation"]]
        self.algorithms = list(data["policy"]["algorithms"])
        self.steps = data["steps"]
        self.exceptions_attest = data["exceptions"]["attest"]
        self.abort_attest = data["abort"]["attest"]
        self.enrol_index = next(i for i, s in enumerate(self.steps) if s["action"] == ENROL)

    def source_roles(self):
        params = self.steps[self.enrol_index].get("params") or {}
        return list(params.get("sourceRoles") or [])


def _is_nonneg_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _require(cond, reason):
    if not cond:
        raise _unreadable(reason)


def _attest_list(v, roles, where):
    _require(isinstance(v, list), f"{where}: attest is not a list")
    for req in v:
        _require(isinstance(req, dict), f"{where}: an attest requirement is not a mapping")
        _require(isinstance(req.get("role"), str) and req["role"] in roles,
                 f"{where}: attest role {req.get('role')!r} is not a role of the script")
        _require(req.get("who", "one") in WHO, f"{where}: who {req.get('who')!r}")


def read(text):
    """Check §7.1.3 and return the Script, or raise Fail(SCRIPT_UNREADABLE)."""
    _check_subset(text)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise _unreadable(f"not YAML: {exc}".splitlines()[0]) from exc
    _require(isinstance(data, dict), "not a YAML mapping")
    for k in ("id", "version", "title"):
        _require(isinstance(data.get(k), str), f"{k} is not a string")

    roles = data.get("roles")
    _require(isinstance(roles, list), "roles is not a list")
    ids = set()
    for r in roles:
        _require(isinstance(r, dict), "a role is not a mapping")
        _require(full(ROLE_ID, r.get("id")), f"role id {r.get('id')!r}")
        _require(r["id"] not in ids, f"role {r['id']} declared twice")
        ids.add(r["id"])
        _require(_is_nonneg_int(r.get("min")), f"role {r['id']}: min")
        _require("max" not in r or _is_nonneg_int(r["max"]), f"role {r['id']}: max")

    sep = data.get("separation")
    _require(isinstance(sep, list), "separation is not a list")
    for pair in sep:
        _require(isinstance(pair, list) and len(pair) == 2 and all(p in ids for p in pair),
                 f"separation pair {pair!r} is not a pair of role ids of the script")

    policy = data.get("policy")
    _require(isinstance(policy, dict) and isinstance(policy.get("algorithms"), list)
             and all(isinstance(a, str) for a in policy["algorithms"]),
             "policy.algorithms is not a list of strings")

    for member in ("exceptions", "abort"):
        m = data.get(member)
        _require(isinstance(m, dict), f"{member} is not a mapping")
        _attest_list(m.get("attest"), ids, member)

    steps = data.get("steps")
    _require(isinstance(steps, list) and steps, "steps is not a non-empty list")
    for i, s in enumerate(steps):
        _require(isinstance(s, dict), f"step {i + 1} is not a mapping")
        _require(full(STEP_ID, s.get("id")), f"step {i + 1}: id {s.get('id')!r}")
        _require(isinstance(s.get("action"), str) and s["action"] != "",
                 f"step {s['id']}: action")
        _attest_list(s.get("attest"), ids, f"step {s['id']}")

    enrols = [i for i, s in enumerate(steps) if s["action"] == ENROL]
    _require(len(enrols) == 1, f"{len(enrols)} enrol-participants steps (exactly one needed)")
    for s in steps[:enrols[0]]:
        _require(not s["attest"], f"step {s['id']} requires attestation before the enrolment")
    seals = [i for i, s in enumerate(steps) if s["action"] == SEAL]
    _require(seals == [len(steps) - 1], "seal-transcript is not the last step and only there")

    enrol = steps[enrols[0]]
    if "params" in enrol:
        _require(isinstance(enrol["params"], dict), "enrolment step: params is not a mapping")
        sr = enrol["params"].get("sourceRoles")
        _require(sr is None or (isinstance(sr, list) and all(r in ids for r in sr)),
                 "enrolment step: sourceRoles is not a list of role ids of the script")
    return Script(data)
