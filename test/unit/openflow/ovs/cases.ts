// What the golden tests against Open vSwitch compare: each fixture vector's typed message, how ovs-ofctl makes the
// bytes (for vectors from ovs-ofctl; vectors from ovs-vswitchd are made by test/e2e/openflow-ovs.e2e.ts), and
// requests Open vSwitch has no encoder for, with the text its decoder (ovs-ofctl ofp-print) prints for our bytes.
import type { OfpMessage } from '../../../../src/openflow';
import { EGRESS_CASES } from './egress';
import { END_COPY_CASES, END_COPY_READS } from './ends';
import { groupCases, groupReads } from './groups';
import { HA_CASES, HA_READS } from './ha';
import { IPV6_CASES } from './ipv6';

export type OfctlRecipe =
  /** ovs-ofctl -O OpenFlow13 --no-names COMMAND unix:LISTENER ARGS...: the one message it sends (bar hello and barrier). */
  | { command: string; args: string[] }
  /** ovs-ofctl encode-error-reply NAME HEX: OVS's error reply to `request`. */
  | { errorReply: string; request: string };

export interface OvsCase {
  name: string;
  message: OfpMessage;
  ofctl?: OfctlRecipe;
}

export interface OvsRead {
  message: OfpMessage;
  /** ovs-ofctl ofp-print of our encoding, trimmed. */
  text: string;
}

/** Every case, built when called (call it inside a test: see ./groups.ts for why). */
export const ovsCases = (): OvsCase[] => [...HA_CASES, ...IPV6_CASES, ...END_COPY_CASES, ...groupCases(), ...EGRESS_CASES];
export const ovsReads = (): OvsRead[] => [...HA_READS, ...END_COPY_READS, ...groupReads()];

/** The command line a fixture records for an ovs-ofctl recipe. */
export function ofctlCommand(recipe: OfctlRecipe): string {
  const quote = (s: string): string => (/^[\w.:=/-]+$/.test(s) ? s : `'${s}'`);
  return 'errorReply' in recipe
    ? `ovs-ofctl encode-error-reply ${recipe.errorReply} ${recipe.request}`
    : ['ovs-ofctl', '-O', 'OpenFlow13', '--no-names', recipe.command, 'unix:LISTENER', ...recipe.args].map(quote).join(' ');
}
