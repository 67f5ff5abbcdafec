/**
 * User + system CPU seconds in the text of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`
 * file (Linux; clock ticks of 1/100 s).
 */
export function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
