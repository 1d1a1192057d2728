/**
 * Deadline is a timeout for something the other end must do (a handshake, a proof) that a member
 * stalled by its own load does not blame on the other end. A plain setTimeout fails that: when an
 * event loop blocked for seconds (a large reply being built, a long GC, SIGSTOP) turns again, the
 * timers run before the sockets are read, so a handshake that arrived in time is declared late.
 * So a Deadline, when its timer fires:
 * - if the timer fired more than `graceMs` late (this process was stalled), starts over with the
 *   time that remained when the stall began — the stall is not counted against the other end —
 *   at most `restartsMax` times;
 * - otherwise waits for the next check phase (setImmediate), after the poll phase has read what
 *   arrived meanwhile, and expires only if it was not cleared by then.
 */
export interface Deadline {
  clear(): void;
}

/** DEADLINE_GRACE_MS: a timer that fires this much later than asked means the process was stalled. */
export const DEADLINE_GRACE_MS = 250;
const RESTARTS_MAX = 4;

export function startDeadline(ms: number, onExpire: () => void, graceMs = DEADLINE_GRACE_MS): Deadline {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let restarts = 0;
  const arm = (delayMs: number) => {
    const due = performance.now() + delayMs;
    timer = setTimeout(() => {
      timer = undefined;
      if (done) return;
      const lateMs = performance.now() - due;
      if (lateMs > graceMs && restarts < RESTARTS_MAX) {
        restarts++;
        // Time the loop could run before the stall is unknown; give the other end what a timer
        // firing on time would have left it: at least the grace, at most the whole deadline.
        arm(Math.max(graceMs, Math.min(ms, lateMs)));
        return;
      }
      immediate = setImmediate(() => {
        immediate = undefined;
        if (done) return;
        done = true;
        onExpire();
      });
    }, delayMs);
  };
  arm(ms);
  return {
    clear() {
      done = true;
      clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
  };
}
