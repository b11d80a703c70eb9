// The schedulers suite again, with vadc in conntrack NAT mode (datapath.nat: conntrack, tracker accounting).
import '../helpers/conntrack-mode';
import './schedulers.e2e';
