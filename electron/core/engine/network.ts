import fs from "node:fs";
import os from "node:os";
import type { NetworkInterfaceState } from "./types";

/**
 * Lists network interfaces with their kernel operstate (Linux /sys/class/net)
 * and addresses. An interface with no address can still be up and bridge a
 * network, so the kernel's word is taken where it exists.
 */
export function listNetworkInterfaces(sysNet = "/sys/class/net"): NetworkInterfaceState[] {
  const addrs = os.networkInterfaces();
  const names = new Set<string>(Object.keys(addrs));
  let fromSys: string[] = [];
  try {
    fromSys = fs.readdirSync(sysNet);
  } catch {
    fromSys = [];
  }
  for (const n of fromSys) names.add(n);
  return [...names].sort().map((name) => {
    let state = "unknown";
    let loopback = (addrs[name] ?? []).some((a) => a.internal);
    try {
      state = fs.readFileSync(`${sysNet}/${name}/operstate`, "utf8").trim();
      const flags = parseInt(fs.readFileSync(`${sysNet}/${name}/flags`, "utf8").trim(), 16);
      if (flags & 0x8) loopback = true; // IFF_LOOPBACK
      // Administratively up counts as up even without carrier: an unplugged cable or a Wi-Fi
      // radio that has not joined yet is one event away from a network (the safer reading).
      if (flags & 0x1) state = "up"; // IFF_UP
      else if (state === "unknown") state = "down";
    } catch {
      state = (addrs[name] ?? []).length ? "up" : "unknown";
    }
    return { name, state, loopback, addresses: (addrs[name] ?? []).map((a) => a.cidr ?? a.address) };
  });
}

/** The interfaces that break the air gap: anything but loopback that is up or has an address. */
export function airGapViolations(ifaces: NetworkInterfaceState[]): NetworkInterfaceState[] {
  return ifaces.filter((i) => !i.loopback && (i.state === "up" || i.addresses.length > 0));
}
