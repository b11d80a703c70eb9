// The payload-rules suite again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './payload-rules.e2e';
