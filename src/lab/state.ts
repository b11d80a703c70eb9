// The lab's state file: written before each resource is made (write-ahead), so `down` after a crash
// knows everything that may exist. Parsing is strict and pure; reading/writing is at the edge.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { LabError } from './errors';

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

const hostSchema = z.object({
  name: z.string().min(1),
  role: z.enum(['vm', 'client']),
  netns: z.string().min(1),
  port: z.string().min(1).max(15),
  ip: z.string().regex(/^\d+\.\d+\.\d+\.\d+$/),
  /** Absent in the state of a lab made before hosts had IPv6 addresses. */
  ip6: z.string().regex(/^[0-9a-f:]+$/).optional(),
  mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
  ifaceId: z.string().min(1),
  vmUuid: z.string().min(1),
  /** Multi-host labs: the simulated hypervisor whose bridge the host's port is on. */
  hypervisor: z.string().min(1).optional(),
});

const hypervisorSchema = z.object({
  name: z.string().min(1),
  index: z.number().int().min(1),
  bridge: z.string().min(1).max(15),
  datapathId: z.string(),
  uplinkPort: z.string().min(1),
  underlayPort: z.string().min(1),
  controller: z.string().nullable(),
});

const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  name: z.string().min(1),
  dir: z.string().min(1),
  bridge: z.string().min(1),
  subnet: z.string(),
  localIp: z.string(),
  datapathId: z.string(),
  controller: z.string().nullable(),
  createdAt: z.string(),
  hosts: z.array(hostSchema),
  /** Multi-host labs (`lab up --hosts N`) only: the lab's bridge is then the underlay joining these. */
  hypervisors: z.array(hypervisorSchema).optional(),
});

export type LabState = z.infer<typeof stateSchema>;
export type LabHostState = z.infer<typeof hostSchema>;
export type LabHypervisorState = z.infer<typeof hypervisorSchema>;

export function parseState(text: string, source = STATE_FILE): LabState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LabError('bad-state', `${source} is not JSON: ${(err as Error).message}`);
  }
  const result = stateSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new LabError('bad-state', `${source} is invalid at '${issue.path.join('.')}': ${issue.message}`);
  }
  return result.data;
}

export function serializeState(state: LabState): string {
  return JSON.stringify(stateSchema.parse(state), null, 2) + '\n';
}

export function statePath(dir: string): string {
  return path.join(dir, STATE_FILE);
}

/** Reads the state file; undefined when there is none (no lab, or already down). */
export function readState(dir: string): LabState | undefined {
  const file = statePath(dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseState(text, file);
}

/** Atomic replace, so a crash mid-write leaves the old state rather than half a file. */
export function writeState(state: LabState): void {
  const file = statePath(state.dir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, serializeState(state));
  fs.renameSync(tmp, file);
}
