import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { StoreLogger } from '../../logger';

/** The lock file a serving SQLite store keeps in its data dir (holds the serving process's PID). */
export const DATA_DIR_LOCK_FILE = 'breakglass.lock';

/** Data dirs this process holds, so a second store in the same process is refused too (its own PID is alive). */
const heldHere = new Set<string>();

export interface DataDirLock {
  readonly path: string;
  /** Remove the lock file (only if it still names this process). Idempotent. */
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Take the one-writer lock on a SQLite data dir: `<dataDir>/breakglass.lock`, created with O_EXCL
 * and holding this PID. Refused (AppError 'conflict', naming the dir and the PID) while a live
 * process holds it; a lock left by a dead process (a crash, SIGKILL) is taken over with a warning.
 * Two processes taking over the same stale lock at the same instant is not excluded (a narrow race
 * only after a crash); a live holder is always detected.
 */
export function acquireDataDirLock(dataDir: string, logger: StoreLogger): DataDirLock {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      const ourOwnStale = holder === process.pid && !heldHere.has(path);
      if (holder !== undefined && !ourOwnStale && isAlive(holder)) {
        throw new AppError(
          'conflict',
          `the data dir ${dataDir} is in use by another grant store (PID ${holder}, lock ${path}): one process serves a SQLite data dir. Stop it first (or, if PID ${holder} is not a breakglass process, remove ${path}).`,
        );
      }
      logger.warn({ lock: path, deadPid: holder ?? null }, `taking over the data dir lock ${path}: its holder (PID ${holder ?? 'unreadable'}) is no longer running`);
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        // Another starter removed it first; the next attempt's O_EXCL create decides who holds it.
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
        logger.debug({ lock: path }, 'stale lock already removed by another starter');
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        heldHere.delete(path);
        if (readHolder(path) !== process.pid) return;
        try {
          unlinkSync(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          logger.debug({ lock: path }, 'lock file already gone at release');
        }
      },
    };
  }
  throw new AppError('conflict', `could not take the data dir lock ${path}: other processes keep creating it`);
}
