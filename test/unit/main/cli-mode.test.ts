// `custos <command>` in the packaged app: the arguments after --custos-cli go
// to the command, which runs in a utility process; the app exits with its status.
import { describe, expect, it, vi } from "vitest";
import { cliArguments, runCli } from "../../../electron/main/cli-mode";
import type { HostProcess } from "../../../electron/main/host-supervisor";

describe("cliArguments", () => {
  it.each([
    [["/opt/Custos/custos"], null],
    [["/opt/Custos/custos", "--some-switch"], null],
    [["/opt/Custos/custos", "--ozone-platform=headless", "--disable-gpu", "--custos-cli", "verify", "/tmp/r.pdf"], ["verify", "/tmp/r.pdf"]],
    [["electron", ".", "--custos-cli", "--", "report", "t.sqlite", "--out", "r.pdf"], ["report", "t.sqlite", "--out", "r.pdf"]],
    [["electron", ".", "--custos-cli"], []],
  ])("%j -> %j", (argv, want) => {
    expect(cliArguments(argv)).toEqual(want);
  });
});

describe("runCli", () => {
  it("starts the command once the app is ready and exits with its status", async () => {
    let exit!: (code: number | null, signal: string | null) => void;
    const launch = vi.fn((): HostProcess => ({ pid: 1, post: vi.fn(), onMessage: vi.fn(), onExit: (cb) => void (exit = cb), kill: vi.fn() }));
    const app = { whenReady: vi.fn(() => Promise.resolve()), exit: vi.fn() };
    runCli(app as never, launch);
    await vi.waitFor(() => expect(launch).toHaveBeenCalledOnce());
    exit(3, null);
    expect(app.exit).toHaveBeenCalledWith(3);
    exit(null, "SIGKILL");
    expect(app.exit).toHaveBeenLastCalledWith(1);
  });
});
