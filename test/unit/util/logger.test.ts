import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, isJournalStream } from '../../../src/util/logger';

function capture(format: 'json' | 'text') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  return { logger: createLogger({ format, stream, level: 'info' }), lines };
}

describe('logger', () => {
  it('writes JSON with the context fields (service, backend, dpid)', async () => {
    const { logger, lines } = capture('json');
    logger.info('backend down', { service: 'web', backend: 'vm1', dpid: '0000000000000001' });
    await new Promise((r) => setImmediate(r));
    const ev = JSON.parse(lines[0]);
    expect(ev).toMatchObject({ level: 'info', message: 'backend down', service: 'web', backend: 'vm1', dpid: '0000000000000001' });
    expect(typeof ev.timestamp).toBe('string');
  });

  it('drops events below its level', async () => {
    const { logger, lines } = capture('text');
    logger.debug('hidden');
    logger.warn('shown', { service: 'web' });
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warn shown \{"service":"web"\}$/);
  });

  it('prefixes each line with its journald priority when logging to the journal', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const logger = createLogger({ format: 'json', stream, level: 'debug', journal: true });
    logger.error('e');
    logger.warn('w');
    logger.info('i');
    logger.debug('d');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(JSON.parse(lines[1].slice(3))).toMatchObject({ level: 'warn', message: 'w' });
  });

  it('knows the journal stream by the device and inode systemd puts in JOURNAL_STREAM', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-journal-'));
    const fd = openSync(path.join(dir, 'stream'), 'w');
    try {
      const st = fstatSync(fd);
      expect(isJournalStream(`${st.dev}:${st.ino}`, fd)).toBe(true);
      expect(isJournalStream(`${st.dev}:${st.ino + 1}`, fd)).toBe(false);
      expect(isJournalStream(undefined, fd)).toBe(false);
      expect(isJournalStream('garbage', fd)).toBe(false);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
