// OpenFlow 1.3.5 numeric constants (spec section 7 and appendix A).

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
/** Largest message the 16-bit length field can describe. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

// Reserved port numbers (ofp_port_no)
export const OFPP_MAX = 0xffffff00;
export const OFPP_IN_PORT = 0xfffffff8;
export const OFPP_TABLE = 0xfffffff9;
export const OFPP_NORMAL = 0xfffffffa;
export const OFPP_FLOOD = 0xfffffffb;
export const OFPP_ALL = 0xfffffffc;
export const OFPP_CONTROLLER = 0xfffffffd;
export const OFPP_LOCAL = 0xfffffffe;
export const OFPP_ANY = 0xffffffff;

export const OFPG_MAX = 0xffffff00;
export const OFPG_ALL = 0xfffffffc;
export const OFPG_ANY = 0xffffffff;

export const OFPTT_MAX = 0xfe;
export const OFPTT_ALL = 0xff;

export const OFP_NO_BUFFER = 0xffffffff;
export const OFPCML_MAX = 0xffe5;
export const OFPCML_NO_BUFFER = 0xffff;

export const OFPM_MAX = 0xffff0000;
export const OFPM_SLOWPATH = 0xfffffffd;
export const OFPM_CONTROLLER = 0xfffffffe;
export const OFPM_ALL = 0xffffffff;

export const OFPQ_ALL = 0xffffffff;
export const OFPVID_PRESENT = 0x1000;
export const OFPVID_NONE = 0x0000;

// Message type codes (ofp_type)
export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5, FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10, FLOW_REMOVED: 11, PORT_STATUS: 12,
  PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16, TABLE_MOD: 17, MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21, QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23, ROLE_REQUEST: 24, ROLE_REPLY: 25, GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28, METER_MOD: 29,
} as const;

// Multipart types (ofp_multipart_type)
export const OFPMP_DESC = 0;
export const OFPMP_FLOW = 1;
export const OFPMP_AGGREGATE = 2;
export const OFPMP_TABLE = 3;
export const OFPMP_PORT_STATS = 4;
export const OFPMP_QUEUE = 5;
export const OFPMP_GROUP = 6;
export const OFPMP_GROUP_DESC = 7;
export const OFPMP_GROUP_FEATURES = 8;
export const OFPMP_METER = 9;
export const OFPMP_METER_CONFIG = 10;
export const OFPMP_METER_FEATURES = 11;
export const OFPMP_TABLE_FEATURES = 12;
export const OFPMP_PORT_DESC = 13;
export const OFPMP_EXPERIMENTER = 0xffff;
export const OFPMPF_REQ_MORE = 1;
export const OFPMPF_REPLY_MORE = 1;

// Flow mod commands and flags
export const OFPFC_ADD = 0;
export const OFPFC_MODIFY = 1;
export const OFPFC_MODIFY_STRICT = 2;
export const OFPFC_DELETE = 3;
export const OFPFC_DELETE_STRICT = 4;
export const OFPFF_SEND_FLOW_REM = 1 << 0;
export const OFPFF_CHECK_OVERLAP = 1 << 1;
export const OFPFF_RESET_COUNTS = 1 << 2;
export const OFPFF_NO_PKT_COUNTS = 1 << 3;
export const OFPFF_NO_BYT_COUNTS = 1 << 4;

// Packet-in reasons
export const OFPR_NO_MATCH = 0;
export const OFPR_ACTION = 1;
export const OFPR_INVALID_TTL = 2;
// Flow-removed reasons
export const OFPRR_IDLE_TIMEOUT = 0;
export const OFPRR_HARD_TIMEOUT = 1;
export const OFPRR_DELETE = 2;
export const OFPRR_GROUP_DELETE = 3;
export const OFPRR_METER_DELETE = 4;
// Port-status reasons
export const OFPPR_ADD = 0;
export const OFPPR_DELETE = 1;
export const OFPPR_MODIFY = 2;

// Port config/state bits
export const OFPPC_PORT_DOWN = 1 << 0;
export const OFPPC_NO_RECV = 1 << 2;
export const OFPPC_NO_FWD = 1 << 5;
export const OFPPC_NO_PACKET_IN = 1 << 6;
export const OFPPS_LINK_DOWN = 1 << 0;
export const OFPPS_BLOCKED = 1 << 1;
export const OFPPS_LIVE = 1 << 2;

// Switch config flags
export const OFPC_FRAG_NORMAL = 0;
export const OFPC_FRAG_DROP = 1;
export const OFPC_FRAG_REASM = 2;

// Group
export const OFPGC_ADD = 0;
export const OFPGC_MODIFY = 1;
export const OFPGC_DELETE = 2;
export const OFPGT_ALL = 0;
export const OFPGT_SELECT = 1;
export const OFPGT_INDIRECT = 2;
export const OFPGT_FF = 3;

// Meter
export const OFPMC_ADD = 0;
export const OFPMC_MODIFY = 1;
export const OFPMC_DELETE = 2;
export const OFPMF_KBPS = 1 << 0;
export const OFPMF_PKTPS = 1 << 1;
export const OFPMF_BURST = 1 << 2;
export const OFPMF_STATS = 1 << 3;

// Controller roles
export const OFPCR_ROLE_NOCHANGE = 0;
export const OFPCR_ROLE_EQUAL = 1;
export const OFPCR_ROLE_MASTER = 2;
export const OFPCR_ROLE_SLAVE = 3;

// Hello element types
export const OFPHET_VERSIONBITMAP = 1;

// OXM classes
export const OFPXMC_NXM_0 = 0x0000;
export const OFPXMC_NXM_1 = 0x0001;
export const OFPXMC_OPENFLOW_BASIC = 0x8000;
export const OFPXMC_EXPERIMENTER = 0xffff;
export const NX_VENDOR_ID = 0x00002320;
export const ONF_VENDOR_ID = 0x4f4e4600;

// ONF experimenter messages OVS sends on OpenFlow 1.3 (include/openvswitch/ofp-msgs.h)
export const ONFT13_ROLE_STATUS = 1911;
// Role status reasons (ofp14_controller_role_reason)
export const OFPCRR_MASTER_REQUEST = 0;
export const OFPCRR_CONFIG = 1;
export const OFPCRR_EXPERIMENTER = 2;

// Error types and codes live in error-codes.ts (declared once, named as in the spec), exported by the openflow index.
// Not re-exported here: a re-export is an accessor property on this module's exports, which puts them (100+
// properties) in dictionary mode, and then every constant the per-message path reads (OFP_HEADER_LEN in decode, in
// the session's enqueuePreEncoded) is a LoadIC call in optimized code instead of a constant: ~450 instructions per
// packet-in (callgrind, docs/benchmarks.md). test/unit/openflow/constants.test.ts keeps the exports plain values.
