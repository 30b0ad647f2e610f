import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, walk } from "../helpers/files";

// The renderer must never be able to reach graphene-pk11, better-sqlite3 or node:*;
// it may import React, the BIP-39 word list (an array of strings) and, as types only, the shared contract.
describe("renderer import boundary", () => {
  const dir = path.join(ROOT, "renderer", "src");
  const files = walk(dir).filter((f) => /\.(ts|tsx)$/.test(f));

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)("%s imports only React, its own files, and types from the core", (f) => {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    const imports = [...text.matchAll(/^import\s+(type\s+)?[^"']*?from\s+["']([^"']+)["'];?$|^import\s+["']([^"']+)["'];?$/gm)];
    for (const m of imports) {
      const typeOnly = !!m[1];
      const spec = m[2] ?? m[3]!;
      if (spec.startsWith("./") || spec.startsWith("../") && !spec.includes("electron/")) continue;
      if (spec === "react" || spec === "react-dom/client") continue;
      // Pure data, no code that reaches Node: the BIP-39 English word list the share cards use.
      if (spec === "@scure/bip39/wordlists/english.js") continue;
      if (spec.includes("electron/shared/") || spec.includes("electron/core/app/")) {
        expect(typeOnly, `${f}: ${m[0]} must be "import type"`).toBe(true);
        continue;
      }
      throw new Error(`${f} imports ${spec}: the renderer may not reach Node, native modules or the core`);
    }
    expect(text).not.toMatch(/\brequire\(|process\.|node:/);
  });

  const assets = path.join(ROOT, "dist", "renderer", "assets");
  // npm test builds the renderer before Vitest runs; a bare `vitest run` reports this as skipped, not passed.
  it.skipIf(!fs.existsSync(assets))("the built bundle carries no Node or native module names", () => {
    for (const f of fs.readdirSync(assets).filter((x) => x.endsWith(".js"))) {
      const js = fs.readFileSync(path.join(assets, f), "utf8");
      for (const bad of ["graphene-pk11", "better-sqlite3", "pkcs11js", 'require("fs")', "node:crypto", "child_process"]) expect(js, `${f} contains ${bad}`).not.toContain(bad);
    }
  });
});
