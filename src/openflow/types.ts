// Typed OpenFlow 1.3 messages. Field names are camelCase of the OpenFlow 1.3.5 spec's struct members.
// Lengths and padding never appear here: the encoder derives them.
// 64-bit wire integers are bigint, everything else is number.

/** Names of the OXM fields the codec knows (OpenFlow basic class plus the Nicira/ONF fields OVS uses). */
export type OxmFieldName =
  | 'in_port' | 'in_phy_port' | 'metadata' | 'eth_dst' | 'eth_src' | 'eth_type' | 'vlan_vid' | 'vlan_pcp'
  | 'ip_dscp' | 'ip_ecn' | 'ip_proto' | 'ipv4_src' | 'ipv4_dst' | 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst'
  | 'sctp_src' | 'sctp_dst' | 'icmpv4_type' | 'icmpv4_code' | 'arp_op' | 'arp_spa' | 'arp_tpa' | 'arp_sha'
  | 'arp_tha' | 'ipv6_src' | 'ipv6_dst' | 'ipv6_flabel' | 'icmpv6_type' | 'icmpv6_code' | 'ipv6_nd_target'
  | 'ipv6_nd_sll' | 'ipv6_nd_tll' | 'mpls_label' | 'mpls_tc' | 'mpls_bos' | 'pbb_isid' | 'tunnel_id'
  | 'ipv6_exthdr'
  // Nicira NXM_0 / NXM_1 and ONF experimenter fields seen on OVS
  | 'eth_dst_nxm' | 'eth_src_nxm'
  | 'reg0' | 'reg1' | 'reg2' | 'reg3' | 'reg4' | 'reg5' | 'reg6' | 'reg7' | 'reg8' | 'reg9' | 'reg10' | 'reg11'
  | 'reg12' | 'reg13' | 'reg14' | 'reg15'
  | 'tunnel_id_nxm' | 'tun_ipv4_src' | 'tun_ipv4_dst' | 'pkt_mark' | 'conj_id' | 'ct_state' | 'ct_zone'
  | 'ct_mark' | 'ct_nw_proto' | 'ct_nw_src' | 'ct_nw_dst' | 'ct_tp_src' | 'ct_tp_dst' | 'ct_ipv6_src' | 'ct_ipv6_dst' | 'pbb_uca'
  | 'tcp_flags' | 'tcp_flags_nxm';

/** Value of an OXM field: number (<= 32 bits), bigint (64-bit), MAC/IPv4/IPv6 text, or bytes. */
export type OxmValue = number | bigint | string | Buffer;

export interface OxmTlv {
  field: OxmFieldName;
  value: OxmValue;
  /** Present only when the wire has-mask bit is set. Same kind as value. */
  mask?: OxmValue;
}

/** An OXM TLV the codec does not know, kept as its exact wire bytes (header included). */
export interface OxmRaw {
  field: 'raw';
  bytes: Buffer;
}

export type Oxm = OxmTlv | OxmRaw;

// ---------------------------------------------------------------- actions

export interface ActionOutput { type: 'output'; port: number; maxLen: number }
export interface ActionCopyTtlOut { type: 'copy_ttl_out' }
export interface ActionCopyTtlIn { type: 'copy_ttl_in' }
export interface ActionSetMplsTtl { type: 'set_mpls_ttl'; mplsTtl: number }
export interface ActionDecMplsTtl { type: 'dec_mpls_ttl' }
export interface ActionPushVlan { type: 'push_vlan'; ethertype: number }
export interface ActionPopVlan { type: 'pop_vlan' }
export interface ActionPushMpls { type: 'push_mpls'; ethertype: number }
export interface ActionPopMpls { type: 'pop_mpls'; ethertype: number }
export interface ActionSetQueue { type: 'set_queue'; queueId: number }
export interface ActionGroup { type: 'group'; groupId: number }
export interface ActionSetNwTtl { type: 'set_nw_ttl'; nwTtl: number }
export interface ActionDecNwTtl { type: 'dec_nw_ttl' }
export interface ActionSetField { type: 'set_field'; field: Oxm }
export interface ActionPushPbb { type: 'push_pbb'; ethertype: number }
export interface ActionPopPbb { type: 'pop_pbb' }
/** An experimenter action the codec has no typed form for: body after the 8-byte header, kept exactly. */
export interface ActionExperimenter { type: 'experimenter'; experimenter: number; data: Buffer }

/** A source or destination sub-field of an NXM/OXM field: field name (or raw header) and bit offset. */
export interface NxField { field: OxmFieldName | number; ofs: number }

export interface NxActionResubmitTable { type: 'nx_resubmit_table'; inPort: number; tableId: number }
export interface NxActionRegMove { type: 'nx_reg_move'; nBits: number; srcOfs: number; dstOfs: number; srcField: OxmFieldName | number; dstField: OxmFieldName | number }
export interface NxActionRegLoad { type: 'nx_reg_load'; ofsNbits: number; dst: OxmFieldName | number; value: bigint }
export interface NxActionNote { type: 'nx_note'; note: Buffer }
export interface NxActionFinTimeout { type: 'nx_fin_timeout'; finIdleTimeout: number; finHardTimeout: number }
export interface NxActionController { type: 'nx_controller'; maxLen: number; controllerId: number; reason: number }
export interface NxActionOutputReg { type: 'nx_output_reg'; ofsNbits: number; src: OxmFieldName | number; maxLen: number }
export interface NxActionConjunction { type: 'nx_conjunction'; clause: number; nClauses: number; id: number }
export interface NxActionDecTtlCntIds { type: 'nx_dec_ttl_cnt_ids'; cntIds: number[] }
export interface NxActionStack { type: 'nx_stack_push' | 'nx_stack_pop'; start: number; field: OxmFieldName | number; end: number }
export interface NxActionSample { type: 'nx_sample'; probability: number; collectorSetId: number; obsDomainId: number; obsPointId: number }
export interface NxActionSample2 { type: 'nx_sample2'; probability: number; collectorSetId: number; obsDomainId: number; obsPointId: number; samplingPort: number }
export interface NxActionOutputTrunc { type: 'nx_output_trunc'; port: number; maxLen: number }
export interface NxActionCtClear { type: 'nx_ct_clear' }
export interface NxActionCt {
  type: 'nx_ct'; flags: number; zoneSrc: OxmFieldName | number; zoneOfsNbits: number; recircTable: number; alg: number;
  actions: Action[];
}
export interface NxActionNat {
  /** The range_present bits are derived from which range fields are set. */
  type: 'nx_nat'; flags: number;
  rangeIpv4Min?: string; rangeIpv4Max?: string; rangeIpv6Min?: string; rangeIpv6Max?: string;
  rangeProtoMin?: number; rangeProtoMax?: number;
}
export type NxLearnSpec =
  | { type: 'match'; nBits: number; src: NxField | Buffer; dst: NxField }
  | { type: 'load'; nBits: number; src: NxField | Buffer; dst: NxField }
  | { type: 'output'; nBits: number; src: NxField | Buffer };
export interface NxActionLearn {
  type: 'nx_learn'; idleTimeout: number; hardTimeout: number; priority: number; cookie: bigint; flags: number;
  tableId: number; finIdleTimeout: number; finHardTimeout: number; specs: NxLearnSpec[];
}
export interface NxActionController2 {
  type: 'nx_controller2'; maxLen?: number; controllerId?: number; reason?: number; userdata?: Buffer; pause?: boolean;
  /** The meter that rate-limits this action's packet-ins alone (OVS 2.12+, NXAC2PT_METER_ID). */
  meterId?: number;
}
/** A Nicira action whose subtype the codec does not type: body after the 10-byte NX header, kept exactly. */
export interface NxActionUnknown { type: 'nx_unknown'; subtype: number; data: Buffer }

export type NxAction =
  | NxActionResubmitTable | NxActionRegMove | NxActionRegLoad | NxActionNote | NxActionFinTimeout
  | NxActionController | NxActionOutputReg | NxActionConjunction | NxActionDecTtlCntIds | NxActionStack
  | NxActionSample | NxActionSample2 | NxActionOutputTrunc | NxActionCtClear | NxActionCt | NxActionNat
  | NxActionLearn | NxActionController2 | NxActionUnknown;

export type Action =
  | ActionOutput | ActionCopyTtlOut | ActionCopyTtlIn | ActionSetMplsTtl | ActionDecMplsTtl | ActionPushVlan
  | ActionPopVlan | ActionPushMpls | ActionPopMpls | ActionSetQueue | ActionGroup | ActionSetNwTtl
  | ActionDecNwTtl | ActionSetField | ActionPushPbb | ActionPopPbb | ActionExperimenter | NxAction;

// ---------------------------------------------------------------- instructions

export interface InstructionGotoTable { type: 'goto_table'; tableId: number }
export interface InstructionWriteMetadata { type: 'write_metadata'; metadata: bigint; metadataMask: bigint }
export interface InstructionWriteActions { type: 'write_actions'; actions: Action[] }
export interface InstructionApplyActions { type: 'apply_actions'; actions: Action[] }
export interface InstructionClearActions { type: 'clear_actions' }
export interface InstructionMeter { type: 'meter'; meterId: number }
export interface InstructionExperimenter { type: 'experimenter'; experimenter: number; data: Buffer }

export type Instruction =
  | InstructionGotoTable | InstructionWriteMetadata | InstructionWriteActions | InstructionApplyActions
  | InstructionClearActions | InstructionMeter | InstructionExperimenter;

// ---------------------------------------------------------------- shared structures

export interface OfpPort {
  portNo: number; hwAddr: string; name: string; config: number; state: number; curr: number;
  advertised: number; supported: number; peer: number; currSpeed: number; maxSpeed: number;
}

export interface Bucket { weight: number; watchPort: number; watchGroup: number; actions: Action[] }

export type MeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  | { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number }
  | { type: 'experimenter'; rate: number; burstSize: number; experimenter: number; data: Buffer };

export type HelloElement =
  | { type: 'versionbitmap'; versions: number[] }
  | { type: 'unknown'; elemType: number; data: Buffer };

export type QueueProperty =
  | { type: 'min_rate'; rate: number }
  | { type: 'max_rate'; rate: number }
  | { type: 'experimenter'; experimenter: number; data: Buffer };

export interface PacketQueue { queueId: number; port: number; properties: QueueProperty[] }

/** An id in table-features instruction/action lists: the type code, plus experimenter bytes if any. */
export interface TlvId { type: number; data: Buffer }
/** An OXM id in table features: the 32-bit OXM header (class, field, has-mask, length). */
export type OxmId = number;

export type TableFeatureProperty =
  | { type: 'instructions' | 'instructions_miss'; instructionIds: TlvId[] }
  | { type: 'next_tables' | 'next_tables_miss'; tableIds: number[] }
  | { type: 'write_actions' | 'write_actions_miss' | 'apply_actions' | 'apply_actions_miss'; actionIds: TlvId[] }
  | { type: 'match' | 'wildcards' | 'write_setfield' | 'write_setfield_miss' | 'apply_setfield' | 'apply_setfield_miss'; oxmIds: OxmId[] }
  | { type: 'experimenter' | 'experimenter_miss'; experimenter: number; expType: number; data: number[] }
  | { type: 'unknown'; propType: number; data: Buffer };

export interface TableFeatures {
  tableId: number; name: string; metadataMatch: bigint; metadataWrite: bigint; config: number; maxEntries: number;
  properties: TableFeatureProperty[];
}

export interface FlowStats {
  tableId: number; durationSec: number; durationNsec: number; priority: number; idleTimeout: number;
  hardTimeout: number; flags: number; cookie: bigint; packetCount: bigint; byteCount: bigint; match: Oxm[];
  instructions: Instruction[];
}
export interface TableStats { tableId: number; activeCount: number; lookupCount: bigint; matchedCount: bigint }
export interface PortStats {
  portNo: number; rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint; rxDropped: bigint;
  txDropped: bigint; rxErrors: bigint; txErrors: bigint; rxFrameErr: bigint; rxOverErr: bigint; rxCrcErr: bigint;
  collisions: bigint; durationSec: number; durationNsec: number;
}
export interface QueueStats {
  portNo: number; queueId: number; txBytes: bigint; txPackets: bigint; txErrors: bigint; durationSec: number;
  durationNsec: number;
}
export interface BucketCounter { packetCount: bigint; byteCount: bigint }
export interface GroupStats {
  groupId: number; refCount: number; packetCount: bigint; byteCount: bigint; durationSec: number;
  durationNsec: number; bucketStats: BucketCounter[];
}
export interface GroupDesc { groupType: number; groupId: number; buckets: Bucket[] }
export interface MeterBandStats { packetBandCount: bigint; byteBandCount: bigint }
export interface MeterStats {
  meterId: number; flowCount: number; packetInCount: bigint; byteInCount: bigint; durationSec: number;
  durationNsec: number; bandStats: MeterBandStats[];
}
export interface MeterConfig { flags: number; meterId: number; bands: MeterBand[] }
export interface MeterFeatures { maxMeter: number; bandTypes: number; capabilities: number; maxBands: number; maxColor: number }

// ---------------------------------------------------------------- multipart bodies

export type MultipartRequestBody =
  | { mpType: 'desc' }
  | { mpType: 'flow' | 'aggregate'; tableId: number; outPort: number; outGroup: number; cookie: bigint; cookieMask: bigint; match: Oxm[] }
  | { mpType: 'table' }
  | { mpType: 'port_stats'; portNo: number }
  | { mpType: 'queue'; portNo: number; queueId: number }
  | { mpType: 'group'; groupId: number }
  | { mpType: 'group_desc' }
  | { mpType: 'group_features' }
  | { mpType: 'meter' | 'meter_config'; meterId: number }
  | { mpType: 'meter_features' }
  | { mpType: 'table_features'; entries: TableFeatures[] }
  | { mpType: 'port_desc' }
  | { mpType: 'experimenter'; experimenter: number; expType: number; data: Buffer };

export type MultipartReplyBody =
  | { mpType: 'desc'; mfrDesc: string; hwDesc: string; swDesc: string; serialNum: string; dpDesc: string }
  | { mpType: 'flow'; entries: FlowStats[] }
  | { mpType: 'aggregate'; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { mpType: 'table'; entries: TableStats[] }
  | { mpType: 'port_stats'; entries: PortStats[] }
  | { mpType: 'queue'; entries: QueueStats[] }
  | { mpType: 'group'; entries: GroupStats[] }
  | { mpType: 'group_desc'; entries: GroupDesc[] }
  | { mpType: 'group_features'; types: number; capabilities: number; maxGroups: number[]; actions: number[] }
  | { mpType: 'meter'; entries: MeterStats[] }
  | { mpType: 'meter_config'; entries: MeterConfig[] }
  | { mpType: 'meter_features'; entries: MeterFeatures[] }
  | { mpType: 'table_features'; entries: TableFeatures[] }
  | { mpType: 'port_desc'; entries: OfpPort[] }
  | { mpType: 'experimenter'; experimenter: number; expType: number; data: Buffer };

export type MultipartType = MultipartRequestBody['mpType'];

// ---------------------------------------------------------------- messages

interface Base { xid: number; /** OpenFlow version byte; 4 when absent. */ version?: number }

export interface Hello extends Base { type: 'hello'; elements: HelloElement[] }
/** For errType 0xffff (experimenter) code is absent and expType/experimenter are set. */
export interface ErrorMsg extends Base {
  type: 'error'; errType: number; code?: number; expType?: number; experimenter?: number; data: Buffer;
}
export interface EchoRequest extends Base { type: 'echo_request'; data: Buffer }
export interface EchoReply extends Base { type: 'echo_reply'; data: Buffer }
export interface Experimenter extends Base { type: 'experimenter'; experimenter: number; expType: number; data: Buffer }
export interface FeaturesRequest extends Base { type: 'features_request' }
export interface FeaturesReply extends Base {
  type: 'features_reply'; datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number;
  capabilities: number; reserved: number;
}
export interface GetConfigRequest extends Base { type: 'get_config_request' }
export interface GetConfigReply extends Base { type: 'get_config_reply'; flags: number; missSendLen: number }
export interface SetConfig extends Base { type: 'set_config'; flags: number; missSendLen: number }
export interface PacketIn extends Base {
  type: 'packet_in'; bufferId: number; totalLen: number; reason: number; tableId: number; cookie: bigint;
  match: Oxm[]; data: Buffer;
}
export interface FlowRemoved extends Base {
  type: 'flow_removed'; cookie: bigint; priority: number; reason: number; tableId: number; durationSec: number;
  durationNsec: number; idleTimeout: number; hardTimeout: number; packetCount: bigint; byteCount: bigint;
  match: Oxm[];
}
export interface PortStatus extends Base { type: 'port_status'; reason: number; desc: OfpPort }
export interface PacketOut extends Base { type: 'packet_out'; bufferId: number; inPort: number; actions: Action[]; data: Buffer }
export interface FlowMod extends Base {
  type: 'flow_mod'; cookie: bigint; cookieMask: bigint; tableId: number; command: number; idleTimeout: number;
  hardTimeout: number; priority: number; bufferId: number; outPort: number; outGroup: number; flags: number;
  match: Oxm[]; instructions: Instruction[];
}
export interface GroupMod extends Base { type: 'group_mod'; command: number; groupType: number; groupId: number; buckets: Bucket[] }
export interface PortMod extends Base {
  type: 'port_mod'; portNo: number; hwAddr: string; config: number; mask: number; advertise: number;
}
export interface TableMod extends Base { type: 'table_mod'; tableId: number; config: number }
export interface MultipartRequest extends Base { type: 'multipart_request'; flags: number; body: MultipartRequestBody }
export interface MultipartReply extends Base { type: 'multipart_reply'; flags: number; body: MultipartReplyBody }
export interface BarrierRequest extends Base { type: 'barrier_request' }
export interface BarrierReply extends Base { type: 'barrier_reply' }
export interface QueueGetConfigRequest extends Base { type: 'queue_get_config_request'; port: number }
export interface QueueGetConfigReply extends Base { type: 'queue_get_config_reply'; port: number; queues: PacketQueue[] }
export interface RoleRequest extends Base { type: 'role_request'; role: number; generationId: bigint }
export interface RoleReply extends Base { type: 'role_reply'; role: number; generationId: bigint }
export interface GetAsyncRequest extends Base { type: 'get_async_request' }
/** Each mask is [master/equal, slave]. */
export interface AsyncConfig { packetInMask: number[]; portStatusMask: number[]; flowRemovedMask: number[] }
export interface GetAsyncReply extends Base, AsyncConfig { type: 'get_async_reply' }
export interface SetAsync extends Base, AsyncConfig { type: 'set_async' }
/** ONF OpenFlow 1.3 role status (experimenter 0x4f4e4600, exp_type 1911): role, reason (OFPCRR_*), the switch's generation_id. */
export interface OnfRoleStatus extends Base { type: 'onf_role_status'; role: number; reason: number; generationId: bigint }
export interface MeterMod extends Base { type: 'meter_mod'; command: number; flags: number; meterId: number; bands: MeterBand[] }

export type OfpMessage =
  | Hello | ErrorMsg | EchoRequest | EchoReply | Experimenter | FeaturesRequest | FeaturesReply
  | GetConfigRequest | GetConfigReply | SetConfig | PacketIn | FlowRemoved | PortStatus | PacketOut | FlowMod
  | GroupMod | PortMod | TableMod | MultipartRequest | MultipartReply | BarrierRequest | BarrierReply
  | QueueGetConfigRequest | QueueGetConfigReply | RoleRequest | RoleReply | GetAsyncRequest | GetAsyncReply
  | SetAsync | MeterMod | OnfRoleStatus;

export type OfpMessageType = OfpMessage['type'];
export type MessageOf<T extends OfpMessageType> = Extract<OfpMessage, { type: T }>;

export interface OfpHeader { version: number; type: number; length: number; xid: number }
