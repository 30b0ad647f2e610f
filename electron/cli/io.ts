/** Where a command prints: stdout for results, stderr for messages. */
export type Out = { out: (s: string) => void; err: (s: string) => void };

export const std: Out = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") };
