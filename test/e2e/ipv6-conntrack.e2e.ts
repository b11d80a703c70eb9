// The IPv6 suite again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './ipv6.e2e';
