import { join } from "node:path";
import { TranscriptStore, verifyFile } from "/work/main/electron/core/transcript/index";
import { appendStep, makeMeta, makeParticipant, makeRootKey, standardSteps, tempDir, CEREMONY_ID } from "/work/main/test/unit/transcript-fixture";
const alice = makeParticipant("alice", "Alice Adams", ["custodian"]);
const bob = makeParticipant("bob", "Bob Brown", ["witness"]);
const root = makeRootKey();
const people = new Map([alice, bob].map((p) => [p.id, p] as const));
const path = join(tempDir(), "big.sqlite");
const store = TranscriptStore.open(path);
store.createCeremony(makeMeta());
const steps = standardSteps(alice, bob, root);
let t = Date.now();
for (const s of steps.slice(0, 3)) appendStep(store, CEREMONY_ID, s, people, root);
for (let i = 0; i < 9997; i++) appendStep(store, CEREMONY_ID, { stepId: "bag-shares", action: "exception", inputs: { i, note: "x".repeat(100) }, requiredSigners: ["alice", "bob"] }, people);
console.log("append ms", Date.now() - t);
store.close();
for (let k = 0; k < 1; k++) { t = performance.now(); const r = verifyFile(path); console.log("verify ms", Math.round(performance.now() - t), r.ok, r.ceremonies[0]!.entries); }
