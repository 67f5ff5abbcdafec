/** min / median / max of a bench's rounds (the median of an even count is the upper middle value). */
export function minMedianMax(xs: readonly number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
}
