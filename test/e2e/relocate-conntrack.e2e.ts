// The relocate hook suite with conntrack NAT mode (vadc counts a backend's live connections from the tracker).
import '../helpers/conntrack-mode';
import './relocate.e2e';
