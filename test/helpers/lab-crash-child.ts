// Run by test/e2e/lab.e2e.ts as a separate process: brings a lab up, says so, then waits to be killed
// with SIGKILL, so the test can prove Lab.down cleans up after a crashed owner.
import { Lab } from '../../src/lab';

const [name, baseDir] = process.argv.slice(2);
Lab.up({ name, baseDir, vms: 1, clients: 1, waitForHostMs: 900_000 }).then(
  async (lab) => {
    // A server left running inside a namespace: down() must find and stop it without this process.
    await lab.startHttpServer('vm1', 8080);
    process.stdout.write(`ready ${lab.dir}\n`);
    setInterval(() => undefined, 60_000);
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
