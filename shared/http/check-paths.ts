// The gate's check routes' paths (check-routes.ts has the routes and their schemas), apart so
// that `breakglass check`'s fast path calls them without loading zod.
export const CHECK_PATHS = { check: '/v1/checks', workloadCheck: '/v1/checks/workload' } as const;
