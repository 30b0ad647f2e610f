import { Hsm } from "../../electron/core/hsm";

/** How many objects a user login sees on the token with this label: what a test expects to be 0 after a check. */
export function objectsSeenByUser(modulePath: string, label: string, userPin: string): number {
  const hsm = Hsm.open(modulePath);
  try {
    const s = hsm.openSession(hsm.identify({ label }));
    s.login("user", userPin);
    const n = s.raw.find({}).length;
    s.logout();
    s.close();
    return n;
  } finally {
    hsm.close();
  }
}
