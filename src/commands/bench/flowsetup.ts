import path from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { FlowSetupResult, formatFlowSetupReport, runFlowSetup } from '../../bench/flowsetup';
import { EndCopiesComparison, formatEndCopiesComparison, runFlowSetupEndCopies } from '../../bench/end-copies-compare';
import { FamilyComparison, formatFamilyComparison, IPV6_COST_CEILING, runFlowSetupFamilies } from '../../bench/family-compare';
import { countInstructions, DEFAULT_INSTRUCTION_CONNECTIONS, parseInstructionConnections, valgrindVersion } from '../../bench/instructions';
import { FlowSetupOptionError } from '../../bench/errors';
import { DEFAULT_IPV6_VIP, DEFAULT_OPTIONS, FlowSetupOptions, parseControllerOption, parseList } from '../../bench/plan';

const d = DEFAULT_OPTIONS;

export default class BenchFlowSetupCommand extends BaseCommand<typeof BenchFlowSetupCommand> {
  static override summary = 'Measure flow setup: emulated OpenFlow 1.3 switches send packet-ins, one response = all flow-mods + packet-out.';
  static override description =
    'A cbench-style load generator. Each emulated switch sends packet-ins (buffer_id none) for distinct client 5-tuples to ' +
    'its VIP; a packet-in counts once all its expected flow-mods and its packet-out arrived. Latency mode keeps one in ' +
    'flight per switch, throughput mode a window. Loops of --loop-ms, the first dropped as warm-up. With --controller ' +
    'internal, vadc\'s controller runs in a child process pinned to core 1 (generator on core 0); the counted runs of ' +
    '--instructions are not pinned.';

  static override examples = [
    '<%= config.bin %> bench flowsetup',
    '<%= config.bin %> bench flowsetup --mode throughput --switches 16 --window 64 --json',
    '<%= config.bin %> bench flowsetup --family both --rounds 2 --mode throughput',
    '<%= config.bin %> bench flowsetup --family both --mode throughput --nat flows --loops 3 --connections 20000',
    '<%= config.bin %> bench flowsetup --family both --rounds 3 --mode throughput --nat flows --loops 4 --connections 3000 --rate 1500',
    '<%= config.bin %> bench flowsetup --family both --rounds 3 --mode throughput --nat flows --instructions',
    '<%= config.bin %> bench flowsetup --end-copies-compare --rounds 3 --mode throughput --nat conntrack',
    '<%= config.bin %> bench flowsetup --mode throughput --controllers 2 --no-pin',
    '<%= config.bin %> bench flowsetup --controller tcp:127.0.0.1:6653 --vip 10.0.0.100 --service-port 80 --vip-stride 0',
  ];

  static override flags = {
    switches: Flags.integer({ description: 'emulated switches (one TCP connection each)', default: d.switches }),
    mode: Flags.option({ options: ['latency', 'throughput'] as const, default: d.mode, description: 'one packet-in in flight per switch, or --window' })(),
    loops: Flags.integer({ description: 'loops, including the warm-up loop(s)', default: d.loops }),
    'loop-ms': Flags.integer({ description: 'length of one loop', default: d.loopMs }),
    connections: Flags.integer({
      description: 'fixed-count loops: each loop, every switch sends this many packet-ins and the loop ends when all are answered ' +
        '(--loop-ms unused): the same work each run, so instruction counts repeat',
    }),
    rate: Flags.integer({
      description: 'with --connections: each switch sends at most this many packet-ins per second, so IPv4 and IPv6 (--family both) ' +
        "offer the controller the same pace (its CPU per connection depends on the pace while it is not saturated)",
    }),
    'warmup-loops': Flags.integer({ description: 'loops dropped at the start', default: d.warmupLoops }),
    macs: Flags.integer({ description: 'distinct client addresses per switch', default: d.clients }),
    'clients-from': Flags.string({
      description: "the first client's address (default 172.16.0.0; with IPv6 the last 32 bits of the clients' fd00:be::/96 addresses): " +
        'addresses at or above 128.0.0.0 are heap numbers in V8, those below small integers',
    }),
    window: Flags.integer({ description: 'packet-ins in flight per switch in throughput mode', default: d.window }),
    controller: Flags.string({ description: "'internal' (vadc in a child process) or tcp:HOST:PORT", default: 'internal' }),
    app: Flags.option({
      options: ['vadc', 'reference', 'raw'] as const, default: d.app,
      description: "internal controller: vadc's load balancer; 'reference' or 'raw' responders validate the generator (never vadc's figure)",
    })(),
    protocol: Flags.option({ options: ['tcp', 'udp'] as const, default: d.protocol, description: 'client packets: TCP SYN or UDP' })(),
    family: Flags.option({
      options: ['ipv4', 'ipv6', 'both'] as const, default: d.family,
      description: "clients, VIPs and backends of this family; 'both' runs IPv4 and IPv6 alternating, prints them side by side and " +
        "IPv6's controller CPU per new connection over IPv4's, round by round, beside issue 16's 1.10 ceiling",
    })(),
    instructions: Flags.boolean({
      description: 'with --family both: also count instructions per new connection of the controller child (callgrind; two ' +
        'fixed-count runs per family, after the timed ones, not pinned) and print IPv6\'s over IPv4\'s beside the ceiling, ' +
        "without V8's compile and garbage collector (each shown apart): a figure the machine's load does not move. " +
        'Needs valgrind (a bench tool, not installed with vadc); each run takes minutes',
      default: false,
    }),
    'instructions-connections': Flags.string({
      description: 'with --instructions: connections per switch and loop of the short and the long counted run (SHORT,LONG); ' +
        'per new connection = the difference of their instructions over the difference of their responses',
      default: DEFAULT_INSTRUCTION_CONNECTIONS.join(','),
    }),
    'instructions-dir': Flags.string({
      description: 'with --instructions: keep the counted runs\' callgrind files in DIR/FAMILY-cCONNECTIONS (each emptied first); ' +
        'without it they are read and deleted',
    }),
    rounds: Flags.integer({ description: 'with --family both or --end-copies-compare: runs per variant (alternating ABBA)', default: 1 }),
    vip: Flags.string({ description: `VIP of switch 0 (default ${d.vip}, with --family ipv6 ${DEFAULT_IPV6_VIP.vip})` }),
    'vip-stride': Flags.integer({
      description: `switch i uses VIP + i * stride: IPv4 as a number (default ${d.vipStride}), IPv6 in /64 networks (default ${DEFAULT_IPV6_VIP.vipStride}); 0 = one VIP for all`,
    }),
    'service-port': Flags.integer({ description: "the service's port on the VIP", default: d.servicePort }),
    'backend-ports': Flags.string({ description: 'software ports on each backend (internal controller config)', default: d.backendPorts.join(',') }),
    'port-names': Flags.string({ description: 'port names of each switch, {n} = switch index', default: d.portNames.join(',') }),
    'client-port': Flags.string({ description: 'the port (one of --port-names) packet-ins come in on', default: d.clientPortName }),
    'flow-mods': Flags.integer({ description: 'distinct flow-mods that make a response, with the packet-out (default: 2, or 0 with --nat conntrack)' }),
    nat: Flags.option({
      options: ['flows', 'conntrack'] as const, default: d.nat,
      description: "internal vadc's NAT mode: per-connection flows, or conntrack (one packet-out per connection)",
    })(),
    'end-copies': Flags.integer({
      description: "internal vadc's datapath.end_copies (its meter, copies/s per switch; 0 = off): each answered connection then ends, " +
        'the switch sending the copies of its two FINs (the responders install no copy flows and get none)',
      default: d.endCopies,
    }),
    'end-copies-compare': Flags.boolean({
      description: 'run with end copies off and on (--end-copies, or 5000 if 0), alternating ABBA, and print them side by side with the cost of an end',
      default: false,
    }),
    scheduler: Flags.string({ description: 'scheduler of the bench services (internal vadc)', default: d.scheduler }),
    'profile-dir': Flags.directory({ description: 'write a CPU profile (.cpuprofile) of the internal controller here' }),
    controllers: Flags.integer({
      description: 'internal controller processes, each serving its own group of switches (switch i: process i mod N): the packet-in path on N cores',
      default: d.controllers,
    }),
    'no-pin': Flags.boolean({ description: 'do not pin controller and generator to cores 1 and 0', default: false }),
  };

  public async run(): Promise<FlowSetupResult | FamilyComparison | EndCopiesComparison> {
    const f = this.flags;
    const options: Partial<FlowSetupOptions> = {
      switches: f.switches, mode: f.mode, loops: f.loops, loopMs: f['loop-ms'], connections: f.connections, rate: f.rate, warmupLoops: f['warmup-loops'], clients: f.macs, clientsFrom: f['clients-from'],
      window: f.window, controller: parseControllerOption(f.controller), app: f.app, protocol: f.protocol, vip: f.vip,
      vipStride: f['vip-stride'], servicePort: f['service-port'], backendPorts: parseList(f['backend-ports']).map(Number),
      portNames: parseList(f['port-names']), clientPortName: f['client-port'],
      expectedFlowMods: f['flow-mods'] ?? (f.nat === 'conntrack' ? 0 : d.expectedFlowMods), nat: f.nat,
      endCopies: f['end-copies'], scheduler: f.scheduler, pin: !f['no-pin'], controllers: f.controllers, profileDir: f['profile-dir'],
    };
    const onLoop = (loop: number, responses: number, ms: number) => this.logger.debug(`loop ${loop}: ${responses} responses in ${ms.toFixed(1)} ms`);
    if (f.instructions && f.family !== 'both') throw new FlowSetupOptionError('instructions', 'counts both families against each other: give --family both');
    if (f['instructions-dir'] && !f.instructions) throw new FlowSetupOptionError('instructions-dir', 'keeps the files of --instructions: give --instructions too');
    if (f.instructions && options.controller?.kind !== 'internal') throw new FlowSetupOptionError('instructions', 'counts the internal controller child: not with --controller tcp:HOST:PORT');
    if (f['end-copies-compare']) {
      if (f.family === 'both') throw new FlowSetupOptionError('end-copies-compare', 'compare one family at a time (--family ipv4 or ipv6)');
      const comparison = await runFlowSetupEndCopies({ ...options, family: f.family }, f.rounds, (rate, n) => this.logger.info(`run ${n + 1}: end copies ${rate ? `${rate}/s` : 'off'}`), onLoop);
      if (!this.jsonEnabled()) this.log(formatEndCopiesComparison(comparison));
      return comparison;
    }
    if (f.family === 'both') {
      const sizes = f.instructions ? parseInstructionConnections(f['instructions-connections']) : null;
      if (sizes) this.logger.info(`instructions counted with ${valgrindVersion()}`);
      const comparison = await runFlowSetupFamilies(options, f.rounds, (family, n) => this.logger.info(`run ${n + 1}: ${family}`), onLoop);
      if (sizes) {
        comparison.instructions = await countInstructions(options, sizes, IPV6_COST_CEILING,
          (family, connections) => this.logger.info(`counting ${family}: ${connections} connections per switch and loop, the controller child under callgrind`), onLoop,
          f['instructions-dir'] && path.resolve(f['instructions-dir']));
      }
      if (!this.jsonEnabled()) this.log(formatFamilyComparison(comparison));
      return comparison;
    }
    const result = await runFlowSetup({ ...options, family: f.family }, onLoop);
    if (!this.jsonEnabled()) this.log(formatFlowSetupReport(result));
    return result;
  }
}
