"""RFC 8785 test values (Appendix B numbers, §3.2.2.2 strings, §3.2.3 sorting), and the §1 readers.

    python3 -m unittest discover -s test/independent-verifier/tests
"""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from indep import formats as F, jcs  # noqa: E402

NUMBERS = """
0000000000000000 0
8000000000000000 0
0000000000000001 5e-324
8000000000000001 -5e-324
7fefffffffffffff 1.7976931348623157e+308
ffefffffffffffff -1.7976931348623157e+308
4340000000000000 9007199254740992
c340000000000000 -9007199254740992
4430000000000000 295147905179352830000
44b52d02c7e14af5 9.999999999999997e+22
44b52d02c7e14af6 1e+23
44b52d02c7e14af7 1.0000000000000001e+23
444b1ae4d6e2ef4e 999999999999999700000
444b1ae4d6e2ef4f 999999999999999900000
444b1ae4d6e2ef50 1e+21
3eb0c6f7a0b5ed8c 9.999999999999997e-7
3eb0c6f7a0b5ed8d 0.000001
41b3de4355555553 333333333.3333332
41b3de4355555554 333333333.33333325
41b3de4355555555 333333333.3333333
41b3de4355555556 333333333.3333334
41b3de4355555557 333333333.33333343
becbf647612f3696 -0.0000033333333333333333
43143ff3c1cb0959 1424953923781206.2
"""


class JCSTest(unittest.TestCase):
    def test_numbers(self):
        for line in NUMBERS.strip().splitlines():
            bits, want = line.split()
            x = struct.unpack(">d", bytes.fromhex(bits))[0]
            self.assertEqual(jcs.serialize(x), want, bits)

    def test_number_forms_read_as_doubles(self):
        for text, want in (("2.0", "2"), ("2e0", "2"), ("-0", "0"), ("1E400", None),
                           ("9007199254740993", "9007199254740992"), ("0.1", "0.1")):
            v = jcs.parse(text)
            if want is None:
                self.assertRaises(jcs.JCSError, jcs.serialize, v)
            else:
                self.assertEqual(jcs.serialize(v), want)

    def test_strings(self):
        v = jcs.parse('"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/"')
        self.assertEqual(jcs.serialize(v), '"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"')
        self.assertEqual(jcs.serialize("\u2028\x7f\x1f\b"), '"\u2028\x7f\\u001f\\b"')
        self.assertRaises(jcs.JCSError, jcs.serialize, jcs.parse('"\\ud800"'))

    def test_sorting(self):
        v = jcs.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew",'
                      '"1":"One","\\ud83d\\ude00":"Emoji","\\u0080":"Control",'
                      '"\\u00f6":"o"}')
        keys = [k for k in jcs.parse(jcs.serialize(v))]
        self.assertEqual(keys, ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"])

    def test_not_json(self):
        for text in ("NaN", "[Infinity]", "{'a':1}", "01", "[1,]", '"\x01"'):
            self.assertRaises(ValueError, jcs.parse, text)

    def test_formats(self):
        self.assertTrue(F.is_int(jcs.parse("9007199254740991")))
        self.assertFalse(F.is_int(jcs.parse("9007199254740992")))
        self.assertFalse(F.is_int(jcs.parse("1.5")))
        self.assertFalse(F.is_int(True))
        self.assertEqual(F.b64("AAE="), b"\x00\x01")
        self.assertIsNone(F.b64("AAF="))   # non-zero padding bits
        self.assertIsNone(F.b64("AAE"))    # no padding
        self.assertIsNone(F.b64("AA E="))
        self.assertTrue(F.is_timestamp("2024-02-29T23:59:59.999Z"))
        self.assertFalse(F.is_timestamp("2023-02-29T00:00:00.000Z"))
        self.assertFalse(F.is_timestamp("2023-01-01T24:00:00.000Z"))
        self.assertFalse(F.is_timestamp("2023-01-01T00:00:60.000Z"))
        self.assertFalse(F.is_timestamp("2023-01-01T00:00:00Z"))


if __name__ == "__main__":
    unittest.main()
