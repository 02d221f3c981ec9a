/**
 * A test hook: SOFTLOGIC_KILL_AT=<name> makes the process SIGKILL itself at that point, so tests
 * can leave exactly the state a crash there leaves. Unset in normal use (one env read).
 */
export function killPoint(name: string): void {
  if (process.env.SOFTLOGIC_KILL_AT === name) process.kill(process.pid, 'SIGKILL');
}
