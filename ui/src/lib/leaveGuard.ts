// Lets a screen with unsaved work veto in-app navigation. The router asks before it follows a
// hash change; the screen answers (usually after asking the person).

type Guard = (nextHash: string) => boolean;

let current: Guard | null = null;

/** Installs the guard; returns a function that removes it (only if it is still the one installed). */
export function setLeaveGuard(guard: Guard): () => void {
  current = guard;
  return () => {
    if (current === guard) current = null;
  };
}

/** Whether navigating to `nextHash` may go ahead. */
export function mayLeave(nextHash: string): boolean {
  return current === null || current(nextHash);
}
