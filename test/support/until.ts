/**
 * Polls `probe` every 25 ms until it returns a value, for at most 30 s. A bound for a loaded
 * machine, not a timing assertion: it returns as soon as the event happened.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
