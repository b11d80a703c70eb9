// The lb suite (IPv4 and IPv6 VIPs) again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './lb.e2e';
