// The waiters for the host lock (host-lock.ts) take it in the order they came: each writes a ticket file into a
// queue directory beside the lock file, named by its arrival time, pid and a counter (so the names sort in arrival
// order), and only the waiter with the first live ticket may take the lock. Without it, whoever polled first after a
// release won, and a waiter could lose for as long as others kept arriving.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './system';

/** A waiter: the lab it wants to make, and the process waiting. */
export interface Waiter {
  name: string;
  dir: string;
  pid: number;
}

/** A ticket its waiter has not touched for this long is dead even if its pid runs (a reused pid, or a caller gone). */
export const TICKET_STALE_MS = 60_000;

let counter = 0;

export function queueDir(lockFile: string): string {
  return `${lockFile}.queue`;
}

/** Writes this waiter's ticket; its name sorts after every ticket written before it. Returns its path. */
export function takeTicket(lockFile: string, waiter: Waiter, now = Date.now()): string {
  const dir = queueDir(lockFile);
  fs.mkdirSync(dir, { recursive: true });
  const name = `${String(now).padStart(15, '0')}-${String(waiter.pid).padStart(10, '0')}-${String(counter++).padStart(6, '0')}`;
  const ticket = path.join(dir, name);
  writeTicket(ticket, waiter);
  return ticket;
}

/** Written whole under another name and renamed, so a reader never sees a ticket half written. */
function writeTicket(ticket: string, waiter: Waiter): void {
  const partial = path.join(path.dirname(ticket), `.${path.basename(ticket)}.partial`);
  fs.writeFileSync(partial, JSON.stringify(waiter));
  fs.renameSync(partial, ticket);
}

/**
 * Shows the waiter still waits (see TICKET_STALE_MS). A ticket another waiter removed as stale (this process was
 * stopped for longer than that) is written again, in its place in the queue.
 */
export function touchTicket(ticket: string, waiter: Waiter): void {
  const now = new Date();
  try {
    fs.utimesSync(ticket, now, now);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(ticket), { recursive: true });
    writeTicket(ticket, waiter);
  }
}

export function dropTicket(ticket: string): void {
  fs.rmSync(ticket, { force: true });
}

/**
 * The live waiters whose tickets come before `ticket`, first first. Tickets of waiters that are gone (their pid no
 * longer runs, or they stopped touching them) are removed on the way, so a waiter that died never blocks the queue.
 */
export function waitersAhead(ticket: string, now = Date.now()): Waiter[] {
  const dir = path.dirname(ticket);
  const mine = path.basename(ticket);
  const ahead: Waiter[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const touched = touchedAt(file);
    if (touched === undefined) continue; // dropped meanwhile
    if (name.startsWith('.')) {
      // A ticket being written: removed only when its writer died over it long ago.
      if (now - touched > TICKET_STALE_MS) fs.rmSync(file, { force: true });
      continue;
    }
    if (name >= mine) break;
    const waiter = readWaiter(file);
    if (waiter === undefined || !isAlive(waiter.pid) || now - touched > TICKET_STALE_MS) {
      fs.rmSync(file, { force: true });
      continue;
    }
    ahead.push(waiter);
  }
  return ahead;
}

function touchedAt(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The ticket's waiter; undefined when it is unreadable (or was dropped between the looks: then removing it is moot). */
function readWaiter(file: string): Waiter | undefined {
  try {
    const waiter = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Waiter>;
    if (typeof waiter.name === 'string' && typeof waiter.dir === 'string' && typeof waiter.pid === 'number') {
      return { name: waiter.name, dir: waiter.dir, pid: waiter.pid };
    }
  } catch {
    // unreadable: removed as dead
  }
  return undefined;
}
