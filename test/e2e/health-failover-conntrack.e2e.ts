// The health-failover suite again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './health-failover.e2e';
