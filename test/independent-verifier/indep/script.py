"""§5: reading the ceremony script (check §7.1.3, SCRIPT_UNREADABLE).

The spec says the script is YAML 1.2 (core schema) and that PyYAML's YAML 1.1 safe_load gives
the same data *for every script Custos accepts*, because Custos refuses anchors, aliases, merge
keys, tags and plain scalars whose 1.1 and 1.2 readings could differ. A verifier cannot know that
the text it is given was accepted by Custos (the header is not signed, and a forger writes their
own), so this module first checks that the text is inside that common subset, and refuses it
(SCRIPT_UNREADABLE) otherwise: outside the subset, PyYAML may not read what Custos read.
Duplicate mapping keys are refused for the same reason (YAML 1.2 forbids them; PyYAML keeps the
last). The vector invalid/script-yaml-1.1-boolean (a plain `no` in a member the verifier does not
even use) confirms that a verifier refuses such a script as SCRIPT_UNREADABLE.
"""

import re

import yaml
from yaml.resolver import Resolver

from .errors import Fail
from .formats import ACTION, ROLE_ID, STEP_ID, full

WHO = ("one", "all", "quorum")
ENROL = "enrol-participants"
SEAL = "seal-transcript"
RESERVED = ("open-ceremony", "exception", "deviation", "abort")  # §5: entry kinds, not steps
ROOT_KEY_ALGORITHMS = ("EC-P256", "EC-P384", "EC-P521", "RSA-3072", "RSA-4096")  # §6.4

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


_YAML11_LINE_BREAKS = re.compile("[\u0085\u2028\u2029]")


def _check_subset(text):
    """Refuse what YAML 1.1 (PyYAML) and YAML 1.2 core could read differently."""
    # §5: U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 and ordinary characters to 1.2.
    m = _YAML11_LINE_BREAKS.search(text)
    if m:
        raise _unreadable(f"U+{ord(m.group()):04X} on line {text.count(chr(10), 0, m.start()) + 1}: "
                          "a line break to YAML 1.1, not to YAML 1.2")
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
        # §5: keys are scalars, unique by their text (so 1 and "1" are one key).
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _unreadable("a mapping key that is not a scalar")
            if key_node.value in seen:
                raise _unreadable(f"duplicate key {key_node.value!r}")
            seen.add(key_node.value)
        return super().construct_mapping(node, deep)


class Script:
    """The members of §5 a verifier uses, with the defaults of §5 filled in."""

    def __init__(self, data):
        self.id = data["id"]
        self.version = data["version"]
        self.title = data["title"]
        self.roles = {r["id"]: (r["min"], r.get("max")) for r in data["roles"]}
        self.separation = [tuple(p) for p in data.get("separation", [])]
        self.algorithms = list(data["policy"]["algorithms"])
        self.steps = [dict(st, attest=st.get("attest", []), params=st.get("params", {}))
                      for st in data["steps"]]
        self.exceptions_attest = data["exceptions"]["attest"]
        self.abort_attest = data["abort"]["attest"]
        self.enrol_index = next(i for i, s in enumerate(self.steps) if s["action"] == ENROL)

    def source_roles(self):
        return list(self.steps[self.enrol_index]["params"].get("sourceRoles", []))


def _is_nonneg_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _nonempty_str(v):
    return isinstance(v, str) and v != ""


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
    """Check §7.1.3 (with §5) and return the Script, or raise Fail(SCRIPT_UNREADABLE).

    Required: id, version, title (non-empty strings), roles (non-empty; id a role id, unique;
    min an integer >= 0, min <= max), policy.algorithms (strings, each a name of §6.4), steps
    (non-empty; id a step id, unique; action an action), exceptions.attest and abort.attest (attest lists). Optional, with §5's
    defaults: separation ([]), roles[].max (no bound), steps[].attest ([]), steps[].params ({}),
    steps[].params.sourceRoles ([]), attest[].who (one). Then: exactly one enrol-participants
    step, no attest requirement before it, seal-transcript last and only there, and no step
    whose action is a reserved entry kind (§5). Other members (`kind`, `quorum`, texts,
    parameters) are not read: §5 lists only what a verifier uses, and no rule depends on
    `kind: signing`.
    """
    _check_subset(text)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise _unreadable(f"not YAML: {exc}".splitlines()[0]) from exc
    _require(isinstance(data, dict), "not a YAML mapping")
    for k in ("id", "version", "title"):
        _require(_nonempty_str(data.get(k)), f"{k} is not a non-empty string")

    roles = data.get("roles")
    _require(isinstance(roles, list) and roles, "roles is not a non-empty list")
    ids = set()
    for r in roles:
        _require(isinstance(r, dict), "a role is not a mapping")
        _require(full(ROLE_ID, r.get("id")), f"role id {r.get('id')!r}")
        _require(r["id"] not in ids, f"role {r['id']} declared twice")
        ids.add(r["id"])
        _require(_is_nonneg_int(r.get("min")), f"role {r['id']}: min is not an integer >= 0")
        _require("max" not in r or _is_nonneg_int(r["max"]),
                 f"role {r['id']}: max is not an integer >= 0")
        _require("max" not in r or r["min"] <= r["max"], f"role {r['id']}: min > max")

    sep = data.get("separation", [])
    _require(isinstance(sep, list), "separation is not a list")
    for pair in sep:
        _require(isinstance(pair, list) and len(pair) == 2
                 and all(isinstance(p, str) and p in ids for p in pair),
                 f"separation pair {pair!r} is not a pair of role ids defined in roles")

    policy = data.get("policy")
    _require(isinstance(policy, dict) and isinstance(policy.get("algorithms"), list)
             and all(isinstance(a, str) for a in policy["algorithms"]),
             "policy.algorithms is not a list of strings")
    # §5: "strings (the names of §6.4)"
    for a in policy["algorithms"]:
        _require(a in ROOT_KEY_ALGORITHMS, f"policy.algorithms: {a!r} is not a name of §6.4 "
                                           f"({', '.join(ROOT_KEY_ALGORITHMS)})")

    for member in ("exceptions", "abort"):
        m = data.get(member)
        _require(isinstance(m, dict), f"{member} is not a mapping")
        _attest_list(m.get("attest"), ids, f"{member}.attest")

    steps = data.get("steps")
    _require(isinstance(steps, list) and steps, "steps is not a non-empty list")
    step_ids = set()
    for i, s in enumerate(steps):
        _require(isinstance(s, dict), f"step {i + 1} is not a mapping")
        _require(full(STEP_ID, s.get("id")), f"step {i + 1}: id {s.get('id')!r}")
        _require(s["id"] not in step_ids, f"step id {s['id']} used twice")
        step_ids.add(s["id"])
        _require(full(ACTION, s.get("action")),
                 f"step {s['id']}: action {s.get('action')!r} is not an action (§1)")
        _require(s["action"] not in RESERVED,
                 f"step {s['id']}: action {s['action']} is a reserved entry kind")
        _attest_list(s.get("attest", []), ids, f"step {s['id']}")
        params = s.get("params", {})
        _require(isinstance(params, dict), f"step {s['id']}: params is not a mapping")
        sr = params.get("sourceRoles", [])
        _require(isinstance(sr, list) and all(isinstance(r, str) and r in ids for r in sr),
                 f"step {s['id']}: params.sourceRoles is not a list of role ids of the script")

    enrols = [i for i, s in enumerate(steps) if s["action"] == ENROL]
    _require(len(enrols) == 1, f"{len(enrols)} enrol-participants steps (exactly one needed)")
    for s in steps[:enrols[0]]:
        _require(not s.get("attest"), f"step {s['id']} requires attestation before the enrolment")
    seals = [i for i, s in enumerate(steps) if s["action"] == SEAL]
    _require(seals == [len(steps) - 1], "seal-transcript is not the last step and only there")
    return Script(data)
