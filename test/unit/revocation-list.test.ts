/** §6.9's revocation-list format, read by one parser for the engine and the verifier. */
import { describe, expect, it } from "vitest";
import { readRevocationList } from "../../electron/core/transcript/verify/revocation-list";

const read = (text: string | Buffer) => readRevocationList(typeof text === "string" ? Buffer.from(text, "utf8") : text);

describe("revocation list (§6.9)", () => {
  it("reads SERIAL REASON lines with comments, blank lines, CRLF, colons and 0x; reason defaults to unspecified", () => {
    const r = read("# serial reason\r\n0a1b2c keyCompromise # lost laptop\r\n\r\n  0x01:23:45\tsuperseded  \r\nFF\n");
    expect(r).toEqual({
      list: [
        { serial: "0a1b2c", value: 0x0a1b2cn, reason: "keyCompromise" },
        { serial: "012345", value: 0x012345n, reason: "superseded" },
        { serial: "ff", value: 0xffn, reason: "unspecified" },
      ],
    });
  });

  it("refuses a third word, an unknown or wrongly cased reason, a serial that is not hex or too long, and a serial twice by value", () => {
    expect(read("1234 superseded yesterday\n")).toMatchObject({ line: 1 });
    expect(read("1234 stolen\n")).toMatchObject({ line: 1 });
    expect(read("1234 KeyCompromise\n")).toMatchObject({ line: 1 });
    expect(read("12g4\n")).toMatchObject({ line: 1 });
    expect(read(`${"1".repeat(41)}\n`)).toMatchObject({ line: 1 });
    expect(read("00ff\n0xFF superseded\n")).toMatchObject({ line: 2 });
  });

  it("treats only spaces, tabs and CR as blanks (a no-break space is not one) and refuses bytes that are not UTF-8", () => {
    expect(read("1234\u00a0superseded\n")).toMatchObject({ line: 1 });
    expect(read(Buffer.from([0x31, 0x32, 0xff, 0x0a]))).toMatchObject({ line: 0 });
    expect(read("")).toEqual({ list: [] });
  });
});
