"""Independent verifier of Custos transcripts, written from docs/transcript-format.md alone.

Modules follow the spec's sections:

- ``jcs``       §1  RFC 8785 canonical JSON and a strict JSON reader
- ``formats``   §1  hex, base64, identifiers, timestamps, integers
- ``cryptox``   §2.2-§2.4, §6.4, §6.4a  hashes, signatures, keys, certificates
- ``script``    §5  reading the YAML script
- ``storage``   §4  the SQLite database and the bundle file
- ``ceremony``  §7  the ordered checks of one ceremony
- ``actions``   §6, §7.4  each action's rules and who must sign
- ``report``    §8  the PDF report (rules 1-3; rule 4, re-rendering, is not done)
- ``pins``      §10 values the auditor knows from outside
- ``headwords`` §11 head words (BIP-39)
"""
