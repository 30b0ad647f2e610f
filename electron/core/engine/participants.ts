import { CustosError } from "../errors";
import type { CeremonyScript } from "../script/schema";

/** Checks an attendance list against the script's roles: counts and separation of duties. */
export function checkAttendance(
  script: CeremonyScript,
  people: Array<{ name: string; roles: string[] }>,
  counts: Record<string, { min: number; max?: number }>,
): void {
  const names = new Set<string>();
  for (const p of people) {
    const n = p.name.trim();
    if (!n) throw new CustosError("ENROL_INVALID", "A participant has no name.", "Enter every participant's full name.");
    const key = n.toLowerCase();
    if (names.has(key)) throw new CustosError("ENROL_INVALID", `"${n}" is listed twice.`, "Each person is enrolled once, with all their roles.");
    names.add(key);
    if (p.roles.length === 0) throw new CustosError("ENROL_INVALID", `${n} has no role.`, "Give each participant at least one role from the script.");
    for (const r of p.roles) {
      if (!script.roles.some((x) => x.id === r)) throw new CustosError("ENROL_INVALID", `${n} has the role "${r}", which this script does not define.`, "Use the roles listed in the script.");
    }
    for (const [a, b] of script.separation) {
      if (p.roles.includes(a) && p.roles.includes(b)) {
        throw new CustosError("ENROL_SEPARATION", `${n} cannot be both ${a} and ${b}: the script separates these duties.`, "Assign one of the roles to another person.");
      }
    }
  }
  for (const role of script.roles) {
    const count = people.filter((p) => p.roles.includes(role.id)).length;
    const min = counts[role.id] ? Math.max(role.min, counts[role.id]!.min) : role.min;
    const max = counts[role.id] ? counts[role.id]!.max : role.max;
    if (count < min) throw new CustosError("ENROL_ROLE_COUNT", `The script needs at least ${min} ${role.title.toLowerCase()}(s); ${count} enrolled.`, "Enrol the missing participants before continuing.");
    if (max !== undefined && count > max) throw new CustosError("ENROL_ROLE_COUNT", `The script allows at most ${max} ${role.title.toLowerCase()}(s); ${count} enrolled.`, "Remove the extra role assignments.");
  }
}
