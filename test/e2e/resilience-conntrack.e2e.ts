// The resilience suite (soak, chaos under load) again, with vadc in conntrack NAT mode.
import '../helpers/conntrack-mode';
import './resilience.e2e';
