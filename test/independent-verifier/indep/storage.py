"""§4: reading the stored forms (SQLite database, bundle file) into ceremonies to verify.

Nothing here believes a stored value: it only lays out the "stored" columns/members that §7.2
checks, and applies the file-level rules of §4 (schema, storage classes, orphans, canonical
bundle, bundle members).
"""

import os
import re
import shutil
import stat
import sqlite3
import tempfile

from . import jcs
from .errors import Fail, Unreadable

SQLITE_MAGIC = b"SQLite format 3\x00"
APPLICATION_ID = 0x43535453  # "CSTS"
BUNDLE_FORMAT = "custos-transcript-bundle"

HEADER_FIELDS = ("id", "scriptId", "scriptVersion", "scriptTitle", "scriptSha256",
                 "scriptText", "mode", "status", "createdAt")
BUNDLE_MEMBERS = {"format", "version", "ceremony", "entries", "head"}
ENTRY_MEMBERS = {"body", "bodyHash", "signatures", "entryHash"}

# §4.1
SCHEMA = {
    ("table", "ceremonies", "ceremonies"),
    ("index", "sqlite_autoindex_ceremonies_1", "ceremonies"),
    ("table", "entries", "entries"),
    ("index", "sqlite_autoindex_entries_1", "entries"),
}
COLUMNS = {  # name, declared type, NOT NULL, primary key position
    "ceremonies": [("id", "TEXT", 1, 1), ("script_id", "TEXT", 1, 0),
                   ("script_version", "TEXT", 1, 0), ("script_title", "TEXT", 1, 0),
                   ("script_sha256", "TEXT", 1, 0), ("script_text", "TEXT", 1, 0),
                   ("mode", "TEXT", 1, 0), ("status", "TEXT", 1, 0), ("created_at", "TEXT", 1, 0)],
    "entries": [("ceremony_id", "TEXT", 1, 1), ("seq", "INTEGER", 1, 2),
                ("step_id", "TEXT", 1, 0), ("action", "TEXT", 1, 0), ("body_json", "TEXT", 1, 0),
                ("body_hash", "TEXT", 1, 0), ("signatures_json", "TEXT", 1, 0),
                ("entry_hash", "TEXT", 1, 0)],
}

MISSING = object()


class StoredEntry:
    """One entry as stored. For a bundle, body/signatures are already parsed JSON values and the
    texts are their JCS forms (§7.2 preamble); for SQLite, the texts are the raw column bytes and
    are parsed by the checks."""

    def __init__(self, seq, step_id, action, body_text, body, body_hash, sigs_text, sigs,
                 entry_hash):
        self.seq = seq
        self.step_id = step_id
        self.action = action
        self.body_text = body_text
        self.body = body
        self.body_hash = body_hash
        self.sigs_text = sigs_text
        self.sigs = sigs
        self.entry_hash = entry_hash


class Ceremony:
    def __init__(self, kind, header, entries, head=MISSING):
        self.kind = kind          # "bundle" or "sqlite"
        self.header = header      # dict of §3 (bundle: whatever the ceremony member is)
        self.entries = entries    # list of StoredEntry, in stored order
        self.head = head          # bundle only


# ---------------------------------------------------------------------------------------------
# Bundle (§4.2)

def load_bundle(data):
    """Bytes of a bundle file -> Ceremony, reading it in the order of §4.2. Raises Unreadable
    (steps 1-3) or Fail (steps 4-5); step 6 is ceremony.verify's."""
    try:                                                                    # 1
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("not UTF-8 text, so not a bundle") from exc
    lenient = text[1:] if text.startswith("\ufeff") else text  # a BOM skipped for 2 and 3 only
    try:                                                                    # 2
        obj = jcs.parse(lenient)
    except ValueError as exc:
        raise Unreadable(f"not JSON ({exc})") from exc
    if not isinstance(obj, dict) or obj.get("format") != BUNDLE_FORMAT:   # 3
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise Unreadable(f"JSON, but not a Custos transcript bundle (format {found!r})")
    if "version" not in obj:
        raise Unreadable("a bundle without a version")
    v = obj["version"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != 2:
        raise Unreadable(f"bundle version {jcs.serialize(v) if _serialisable(v) else v!r}"
                         " (this verifier reads version 2)")
    try:
        canon = jcs.canonical(obj) + b"\n"
    except jcs.JCSError:
        canon = None
    if canon != data:                                                       # 4
        raise Fail("BUNDLE_NOT_CANONICAL", None, "the file is not JCS(bundle) + LF")
    if set(obj) != BUNDLE_MEMBERS:                                          # 5
        raise Fail("BUNDLE_MALFORMED", None,
                   f"top-level members {sorted(obj)} (want {sorted(BUNDLE_MEMBERS)})")
    if not isinstance(obj["entries"], list):
        raise Fail("BUNDLE_MALFORMED", None, "entries is not an array")
    entries = []
    for k, e in enumerate(obj["entries"], 1):
        if not isinstance(e, dict) or set(e) != ENTRY_MEMBERS:
            raise Fail("BUNDLE_MALFORMED", None,
                       f"element {k} of entries is not an object with exactly "
                       f"{sorted(ENTRY_MEMBERS)}")
        body = e["body"]
        entries.append(StoredEntry(
            seq=body.get("seq") if isinstance(body, dict) else None,
            step_id=None, action=None,
            body_text=jcs.canonical(body), body=body, body_hash=e["bodyHash"],
            sigs_text=jcs.canonical(e["signatures"]), sigs=e["signatures"],
            entry_hash=e["entryHash"]))
    return Ceremony("bundle", obj["ceremony"], entries, obj["head"])


def _serialisable(v):
    try:
        jcs.serialize(v)
        return True
    except jcs.JCSError:
        return False


# ---------------------------------------------------------------------------------------------
# SQLite (§4.1)

def _text(raw):
    """Column bytes -> str; undecodable bytes kept as surrogates, so they never compare equal
    to a well-formed string."""
    return raw.decode("utf-8", "surrogateescape")


def load_sqlite(path, only_ceremony=None):
    """Path of transcript.sqlite -> list of Ceremony. Raises Unreadable or Fail.

    The database and its -wal are copied into a private temporary folder first; the evidence
    files are only read.
    """
    tmp = tempfile.mkdtemp(prefix="custos-indep-")
    try:
        copy = os.path.join(tmp, "transcript.sqlite")
        shutil.copyfile(path, copy)
        # The -wal is part of the database when it is a regular, non-empty file (nothing else is read: a FIFO,
        # a folder or a link to a device beside the evidence is ignored, as by SQLite's own readers of the copy).
        # SQLite finds it beside the database's real path (it follows symbolic links), and so does this.
        wal_path = os.path.realpath(path) + "-wal"
        try:
            wal = os.stat(wal_path)
        except FileNotFoundError:
            wal = None
        except OSError as exc:
            raise Unreadable(f"its -wal file cannot be read: {exc}") from exc
        if wal is not None and stat.S_ISREG(wal.st_mode) and wal.st_size > 0:
            try:
                shutil.copyfile(wal_path, copy + "-wal")
            except OSError as exc:
                raise Unreadable(f"its -wal file cannot be read: {exc}") from exc
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            raise Unreadable(f"SQLite cannot open it: {exc}") from exc
        try:
            conn.text_factory = bytes
            return _read_db(conn, only_ceremony)
        except sqlite3.DatabaseError as exc:
            raise Unreadable(f"SQLite cannot read it: {exc}") from exc
        except UnicodeDecodeError as exc:
            # SQLite's own message about a damaged schema can hold bytes that are not UTF-8.
            raise Unreadable("SQLite cannot read it (its schema is damaged)") from exc
        finally:
            conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# §4.1: each table's CREATE statement, every run of whitespace made one space.
TABLE_SQL = {
    "ceremonies": "CREATE TABLE ceremonies ( id TEXT NOT NULL PRIMARY KEY, script_id TEXT NOT NULL, "
                  "script_version TEXT NOT NULL, script_title TEXT NOT NULL, script_sha256 TEXT NOT NULL, "
                  "script_text TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL )",
    "entries": "CREATE TABLE entries ( ceremony_id TEXT NOT NULL, seq INTEGER NOT NULL, step_id TEXT NOT NULL, "
               "action TEXT NOT NULL, body_json TEXT NOT NULL, body_hash TEXT NOT NULL, signatures_json TEXT NOT NULL, "
               "entry_hash TEXT NOT NULL, PRIMARY KEY (ceremony_id, seq) )",
}


def _read_db(conn, only_ceremony):
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        raise Unreadable(f"another program's SQLite database (application_id {app_id:#x})")
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    if user_version != 2:
        raise Unreadable(f"transcript database version {user_version} (this verifier reads 2)")

    # §4.1: text is stored as UTF-8 (in UTF-16, CAST(x AS BLOB) would not give the bytes read as text).
    encoding = _text(conn.execute("PRAGMA encoding").fetchone()[0])
    if encoding != "UTF-8":
        raise Fail("SQLITE_SCHEMA", None, f"the text encoding is {encoding}, not UTF-8")

    objects = {tuple(_text(c) for c in row)
               for row in conn.execute("SELECT type, name, tbl_name FROM sqlite_master")}
    count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if objects != SCHEMA or count != len(SCHEMA):
        extra = sorted(objects - SCHEMA)
        missing = sorted(SCHEMA - objects)
        raise Fail("SQLITE_SCHEMA", None, f"schema objects: extra {extra}, missing {missing}")
    for table, want in COLUMNS.items():
        # table_xinfo also lists hidden and generated columns, which §4.1 does not allow.
        got = [(_text(r[1]), _text(r[2] or b"").upper(), r[3], r[5], r[6])
               for r in conn.execute(f"PRAGMA table_xinfo({table})")]
        if got != [c + (0,) for c in want]:
            raise Fail("SQLITE_SCHEMA", None, f"columns of {table}: {got}")
    for table, want in TABLE_SQL.items():
        # §4.1: the declaration itself, whitespace runs made one space (a collation is not in table_info).
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        got = re.sub(r"[ \t\n\r]+", " ", _text(row[0])).strip(" ") if row and row[0] is not None else None
        if got != want:
            raise Fail("SQLITE_SCHEMA", None, f"declaration of {table}: {got}")

    # §4.1: SQLite's integrity check (a table and its index that disagree show different rows to different queries).
    problems = [_text(r[0]) if isinstance(r[0], bytes) else str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise Fail("SQLITE_INTEGRITY", None, f"integrity check: {problems[0]}")

    bad = conn.execute(
        "SELECT count(*) FROM ceremonies WHERE " + " OR ".join(
            f"typeof({c[0]}) <> 'text'" for c in COLUMNS["ceremonies"])).fetchone()[0]
    bad += conn.execute(
        "SELECT count(*) FROM entries WHERE typeof(seq) <> 'integer' OR " + " OR ".join(
            f"typeof({c[0]}) <> 'text'" for c in COLUMNS["entries"] if c[0] != "seq")
    ).fetchone()[0]
    if bad:
        raise Fail("SQLITE_TYPES", None, f"{bad} row(s) with a value of the wrong storage class")

    # §4.1: every text value is valid UTF-8 (strict: no overlong forms, no encoded surrogates).
    for table, columns in COLUMNS.items():
        names = [c[0] for c in columns if c[0] != "seq"]
        for n, row in enumerate(conn.execute(f"SELECT {', '.join(f'CAST({c} AS BLOB)' for c in names)} FROM {table} ORDER BY rowid"), 1):
            for name, raw in zip(names, row):
                try:
                    raw.decode("utf-8", "strict")
                except UnicodeDecodeError:
                    raise Fail("SQLITE_TYPES", None, f"{table}.{name} of row {n} is not valid UTF-8") from None

    orphans = conn.execute(
        "SELECT DISTINCT ceremony_id FROM entries WHERE ceremony_id NOT IN "
        "(SELECT id FROM ceremonies)").fetchall()
    if orphans:
        raise Fail("ORPHAN_ENTRIES", None,
                   f"entries of ceremonies without a header row: {[_text(o[0]) for o in orphans]}")

    ceremonies = []
    for row in conn.execute("SELECT id, script_id, script_version, script_title, script_sha256,"
                            " script_text, mode, status, created_at FROM ceremonies ORDER BY id"):
        header = dict(zip(HEADER_FIELDS, row))  # bytes; decoded by the header check
        if only_ceremony is not None and _text(row[0]) != only_ceremony:
            continue
        entries = [
            StoredEntry(seq=r[0], step_id=_text(r[1]), action=_text(r[2]), body_text=r[3],
                        body=None, body_hash=_text(r[4]), sigs_text=r[5], sigs=None,
                        entry_hash=_text(r[6]))
            for r in conn.execute(
                "SELECT seq, step_id, action, body_json, body_hash, signatures_json, entry_hash"
                " FROM entries WHERE CAST(ceremony_id AS BLOB) = ? ORDER BY seq", (row[0],))]
        ceremonies.append(Ceremony("sqlite", header, entries))
    return ceremonies
