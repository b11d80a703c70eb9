// What the end copies cost the new connections read with them (issue 15, copyq18): vadc handles a read of the switch's
// socket frame by frame and writes the answers once, at the read's end (session.ts onData). A decision's packet-in
// therefore waits, inside vadc, for every frame of its read: the copies ahead of it and behind it. This watches the
// session's reads (the bench runs vadc in its own process) and splits each decision's wait: the whole read, and the
// part the read's copies took. Also the gap to the read before: a read that starts at once after the last one ended
// found its bytes waiting in the socket (vadc was busy), so the copies of the read before delayed them too.
import type { Socket } from 'node:net';
import { endCopyService } from '../../src/flows/cookies';
import { summarize, type Distribution } from './realovs-stats';

const OFPT_PACKET_IN = 10;
/** A packet_in's cookie (OpenFlow 1.3): after the header (8), buffer_id (4), total_len (2), reason (1), table_id (1). */
const PACKET_IN_COOKIE_AT = 16;

export type FrameKind = 'copy' | 'decision' | 'other';

/** One read of the switch's socket: when it started and ended (ns, monotonic), and each frame's kind and handling time. */
export interface Read {
  startNs: bigint;
  endNs: bigint;
  frames: Array<{ kind: FrameKind; ns: number }>;
}

/** A frame's kind from its bytes: an end copy (a packet-in of an `end` cookie), another packet-in, or any other message. */
export function frameKind(type: number, bytes: Buffer): FrameKind {
  if (type !== OFPT_PACKET_IN) return 'other';
  if (bytes.length < PACKET_IN_COOKIE_AT + 8) return 'decision';
  return endCopyService(bytes.readBigUInt64BE(PACKET_IN_COOKIE_AT)) !== 0 ? 'copy' : 'decision';
}

interface WatchedSession {
  onFrameResult: (result: { ok: boolean; frame?: { type: number; bytes: Buffer } }) => boolean;
}

/**
 * Watches `session`'s reads until stop(): its frame handler wrapped (each frame timed and classed), its socket's 'data'
 * listened to first (the read's start) and last (its end, after the answers' write). Bounded: at most `maxReads`.
 */
export function watchReads(session: unknown, socket: Socket, maxReads = 200_000): { reads: Read[]; stop: () => void } {
  const s = session as WatchedSession;
  const reads: Read[] = [];
  let current: Read | undefined;
  const original = s.onFrameResult;
  s.onFrameResult = (result) => {
    const t0 = process.hrtime.bigint();
    const go = original(result);
    if (current && result.ok && result.frame) {
      current.frames.push({ kind: frameKind(result.frame.type, result.frame.bytes), ns: Number(process.hrtime.bigint() - t0) });
    }
    return go;
  };
  const onStart = () => {
    current = reads.length < maxReads ? { startNs: process.hrtime.bigint(), endNs: 0n, frames: [] } : undefined;
  };
  const onEnd = () => {
    if (!current) return;
    current.endNs = process.hrtime.bigint();
    reads.push(current);
    current = undefined;
  };
  socket.prependListener('data', onStart);
  socket.on('data', onEnd);
  return {
    reads,
    stop: () => {
      s.onFrameResult = original;
      socket.removeListener('data', onStart);
      socket.removeListener('data', onEnd);
    },
  };
}

/** The decisions' waits over a set of reads (us), and what the copies took of them. */
export interface ReadWaits {
  reads: number;
  decisions: number;
  copies: number;
  /** Each decision's read: from its start to its end (the answers' write). */
  waitUs: Distribution;
  /** The part of each decision's read its copies took. */
  copyPartUs: Distribution;
  /** Copies in each decision's read. */
  copiesInRead: Distribution;
  /** Decisions whose read started within backToBackUs of the read before's end (their bytes waited for vadc). */
  backToBack: number;
  /** Of those, the copies' handling time in the read before (us): how much longer their bytes waited for it. */
  priorCopyPartUs: Distribution;
  /** Handling time per frame by kind (us). */
  perFrameUs: Record<FrameKind, Distribution>;
  /** Share of all reads' time spent on copies. */
  copyShare: number;
}

/** A read that starts within this of the last one's end found its bytes waiting (a data event's own cost is ~10 us). */
export const BACK_TO_BACK_US = 50;

export function readWaits(reads: readonly Read[]): ReadWaits {
  const wait: number[] = [];
  const copyPart: number[] = [];
  const copiesIn: number[] = [];
  const prior: number[] = [];
  const perFrame: Record<FrameKind, number[]> = { copy: [], decision: [], other: [] };
  let decisions = 0;
  let copies = 0;
  let total = 0;
  let copyTotal = 0;
  for (const [i, r] of reads.entries()) {
    const us = Number(r.endNs - r.startNs) / 1000;
    total += us;
    let copyUs = 0;
    let nCopies = 0;
    let nDecisions = 0;
    for (const f of r.frames) {
      perFrame[f.kind].push(f.ns / 1000);
      if (f.kind === 'copy') {
        copyUs += f.ns / 1000;
        nCopies++;
      } else if (f.kind === 'decision') nDecisions++;
    }
    copies += nCopies;
    copyTotal += copyUs;
    if (nDecisions === 0) continue;
    decisions += nDecisions;
    const before = i > 0 ? reads[i - 1] : undefined;
    const backToBack = before !== undefined && Number(r.startNs - before.endNs) / 1000 <= BACK_TO_BACK_US;
    const beforeCopyUs = backToBack ? before!.frames.reduce((n, f) => n + (f.kind === 'copy' ? f.ns / 1000 : 0), 0) : 0;
    for (let d = 0; d < nDecisions; d++) {
      wait.push(us);
      copyPart.push(copyUs);
      copiesIn.push(nCopies);
      if (backToBack) prior.push(beforeCopyUs);
    }
  }
  return {
    reads: reads.length, decisions, copies, waitUs: summarize(wait), copyPartUs: summarize(copyPart), copiesInRead: summarize(copiesIn),
    backToBack: prior.length, priorCopyPartUs: summarize(prior),
    perFrameUs: { copy: summarize(perFrame.copy), decision: summarize(perFrame.decision), other: summarize(perFrame.other) },
    copyShare: total > 0 ? copyTotal / total : 0,
  };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const mean = (d: Distribution) => f1(d.mean);

/** One line for the bench's log. */
export function formatReadWaits(label: string, w: ReadWaits): string {
  return `${label}: ${w.reads} reads, ${w.decisions} decisions, ${w.copies} copies; a decision's read us p50 ${f1(w.waitUs.p50)} p99 ${f1(w.waitUs.p99)} `
    + `mean ${mean(w.waitUs)}, of it copies p50 ${f1(w.copyPartUs.p50)} p99 ${f1(w.copyPartUs.p99)} mean ${mean(w.copyPartUs)} `
    + `(copies in its read p50 ${f1(w.copiesInRead.p50)} p99 ${f1(w.copiesInRead.p99)} mean ${mean(w.copiesInRead)}); `
    + `${w.backToBack} decisions' reads back to back with the last (its copies mean ${mean(w.priorCopyPartUs)} p99 ${f1(w.priorCopyPartUs.p99)}); `
    + `per frame us p50/p99 decision ${f1(w.perFrameUs.decision.p50)}/${f1(w.perFrameUs.decision.p99)} copy ${f1(w.perFrameUs.copy.p50)}/${f1(w.perFrameUs.copy.p99)} `
    + `other ${f1(w.perFrameUs.other.p50)}/${f1(w.perFrameUs.other.p99)}; copies' share of read time ${(100 * w.copyShare).toFixed(1)} %`;
}
