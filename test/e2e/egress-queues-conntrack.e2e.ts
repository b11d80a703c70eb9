// The egress queues suite with conntrack NAT mode (a queued backend's replies pass its CT_REPLY flow, which carries its tag).
import '../helpers/conntrack-mode';
import './egress-queues.e2e';
