import { useChannel } from '../../bridge/queries';

/** Refresh the figures this often (they move by the hour, not by the second). */
export const HEALTH_REFRESH_MS = 60_000;

/** The gate-health report (console:main:get-health), shared by the screen and its sidebar badge. */
export function useHealth() {
  return useChannel('console:main:get-health', {}, { refetchInterval: HEALTH_REFRESH_MS });
}
