/**
 * The in-memory cluster store's set-up, written once for the unit tests that use it: a FakeCluster serving vadc's
 * schema (or another) from a fresh temporary directory, started and stopped by jest hooks, and the session options
 * that reconnect at once and never probe.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCluster } from './fake-cluster';

/** vadc's OVSDB schema (schema/vadc.ovsschema), as the cluster store serves it. */
export const VADC_SCHEMA = JSON.parse(readFileSync(join(__dirname, '../../../schema/vadc.ovsschema'), 'utf8')) as { name: string };

/** Session options for tests: no inactivity probe, reconnect after 20 ms, backing off to 80 ms at most. */
export const FAST_SESSION = { probeIntervalMs: 0, backoffInitialMs: 20, backoffMaxMs: 80 };

export interface FakeClusterStoreOptions {
  /** A new cluster for each test ('each'), or one for the whole file or describe block ('all'). */
  per: 'each' | 'all';
  /** Members of the cluster (3 unless said). */
  members?: number;
  /** The database served (vadc's schema unless said). */
  schema?: { name: string };
  /** Runs before the cluster stops: close the clients, hosts and daemons that use it. */
  beforeStop?: () => unknown;
}

export interface FakeClusterStore {
  /** The temporary directory of the members' sockets (and anything else the test puts there), removed at the end. */
  readonly dir: string;
  /** The running cluster: read it in tests and in hooks registered after `useFakeClusterStore`. */
  readonly cluster: FakeCluster;
  /** Stops the cluster and starts a new one in its place serving `schema` (stopped by the hooks as usual). */
  restart(schema: { name: string }): Promise<FakeCluster>;
}

/**
 * Registers the hooks, in the describe block it is called in, that start the cluster before each test or before all
 * of them, stop it after (calling `beforeStop` first) and remove the directory after all.
 */
export function useFakeClusterStore(dirPrefix: string, opts: FakeClusterStoreOptions): FakeClusterStore {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  let cluster: FakeCluster | undefined;
  const start = async (schema = opts.schema ?? VADC_SCHEMA): Promise<FakeCluster> => {
    cluster = await new FakeCluster(dir, opts.members ?? 3, 100, schema).start();
    return cluster;
  };
  const stop = async (): Promise<void> => {
    await opts.beforeStop?.();
    await cluster?.stop();
    cluster = undefined;
  };
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  if (opts.per === 'each') {
    beforeEach(() => start());
    afterEach(stop);
    afterAll(removeDir);
  } else {
    beforeAll(() => start());
    afterAll(async () => {
      await stop();
      removeDir();
    });
  }
  return {
    dir,
    get cluster(): FakeCluster {
      if (!cluster) throw new Error('the fake cluster store runs only from its before hook to its after hook: read it in a test');
      return cluster;
    },
    async restart(schema) {
      await cluster?.stop();
      return start(schema);
    },
  };
}
