// The outlier suite again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './outlier.e2e';
